import type { ClientConfig, CreateSubscriptionOptions, PublishOptions, PubSub, SubscriberOptions } from '@google-cloud/pubsub';
import type { Deserializer, Serializer } from '@nestjs/microservices';
import {
  BROKERED_SERVER_OPTION_KEYS,
  type BrokeredServerOptions,
  type CodecOption,
  validateBrokeredServerOptions,
  validateOptions,
} from '@nest-transports/shared';
import { PUBSUB_MAX_MESSAGE_BYTES } from './constants.js';

/** Where the transport gets its Pub/Sub client, and what both ends share. */
export interface PubSubCommonOptions {
  /** An existing `PubSub` instance. The transport never closes it. */
  client?: PubSub;
  /**
   * Options for a `PubSub` the transport creates (and closes): `projectId` (required, here or in
   * GOOGLE_CLOUD_PROJECT), `apiEndpoint` + `emulatorMode` for an emulator, credentials…
   * PUBSUB_EMULATOR_HOST is honoured as by the Google client.
   */
  clientConfig?: ClientConfig;
  /**
   * Create missing topics and subscriptions at `listen()`/`connect()`. Default `false`: in
   * production, infrastructure is usually provisioned separately and the service account
   * lacks `pubsub.topics.create`; a missing resource is then a clear start-up error.
   */
  autoCreate?: boolean;
  /** Bound on the start-up calls (existence checks, creation), in ms. Default 10 000. */
  connectTimeout?: number;
  /** Byte layer under the serializer: "json" (default), "msgpack" or your own codec. */
  codec?: CodecOption;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

/** A subscription the server consumes. A plain string is `{ name }`. */
export interface PubSubSubscriptionSpec {
  /** Subscription name (short, or `projects/P/subscriptions/S`). */
  name: string;
  /** Topic it is attached to; only needed to create it (`autoCreate`). Default: the server's `topic`. */
  topic?: string;
  /** Pattern for messages that carry none (non-Nest publishers). Default: the server's `defaultPattern`, else this subscription's short name. */
  defaultPattern?: string;
  /** Settings used when `autoCreate` creates it: `deadLetterPolicy`, `enableMessageOrdering`, `enableExactlyOnceDelivery`, `filter`, `retryPolicy`, `ackDeadlineSeconds`… */
  create?: CreateSubscriptionOptions;
}

/** The subscriber's flow control: what the library leases per subscription (handlers are bounded by `maxConcurrency`). */
export interface PubSubFlowControl {
  /**
   * Messages leased at once per subscription: handled, waiting for a handler, or with their ack in
   * flight. Default twice `maxConcurrency` (the library counts a message until its ack is answered).
   * A small value keeps the rest of a backlog with Pub/Sub for other servers on the subscription.
   */
  maxMessages?: number;
  /** Bytes leased at once per subscription. Default 100 MiB. */
  maxBytes?: number;
}

/** The server options shared with every brokered transport (`maxConcurrency`, `closeTimeout`, `manualAck`, …) plus Pub/Sub's own. */
export interface PubSubServerOptions extends PubSubCommonOptions, BrokeredServerOptions {
  /** The subscription to consume (or use `subscriptions` for several). */
  subscription?: string | PubSubSubscriptionSpec;
  /** Several subscriptions, consumed by one server. */
  subscriptions?: Array<string | PubSubSubscriptionSpec>;
  /** Default topic of the subscriptions, for `autoCreate`. */
  topic?: string;
  /** Pattern for messages without one (non-Nest publishers). Default: the subscription's short name. */
  defaultPattern?: string;
  /**
   * How messages are taken from the subscriptions. `"streaming"` (default): a streaming pull per
   * subscription, leased by the library within `flowControl`. `"pull"`: unary pulls that ask for
   * only as many messages as there are free handler slots, so servers sharing a subscription share
   * its backlog also where a streaming pull takes a whole burst (the emulator).
   */
  intake?: 'streaming' | 'pull';
  /** Intake `"pull"`: messages asked for per pull, at most. Default `maxConcurrency` (at most 1000, Pub/Sub's limit). */
  batchSize?: number;
  /** Intake `"pull"`: longest a pull waits for messages, in seconds (close waits for the pull under way). Default 5. */
  waitTimeSeconds?: number;
  /** Intake `"streaming"`: flow control per subscription. Defaults: twice `maxConcurrency` messages, 100 MiB. */
  flowControl?: PubSubFlowControl;
  /** Intake `"streaming"`: passed to the subscriber: `minAckDeadline`, `maxAckDeadline`, `maxExtensionTime` (lease extension for long handlers, default 60 min), `batching` of acks, `streamingOptions`. */
  subscriberOptions?: Omit<SubscriberOptions, 'flowControl' | 'closeOptions'>;
  /** Publisher options of the reply topics (`batching`…). Default: the library's, but `batching.maxMilliseconds` 1. */
  replyPublishOptions?: PublishOptions;
  /**
   * How long a reply waits for Pub/Sub to accept it, in ms; then it is dropped with a logged
   * `PUBLISH_TIMEOUT` error (the caller's `requestTimeout` ends its wait). Default 10 000.
   */
  publishTimeout?: number;
}

export interface PubSubClientOptions extends PubSubCommonOptions {
  /** Topic for every pattern (one topic, the pattern in the `nest-pattern` attribute), or a function from the pattern's route to a topic (pattern → topic routing). */
  topic: string | ((route: string) => string);
  /** Create a reply topic and subscription for this client on `connect()` (deleted on `close()`). Default true; false for emit-only clients (no admin rights needed). */
  requestResponse?: boolean;
  /** Prefix of the per-client reply topic/subscription names. Default "nest-replies". */
  replyTopicPrefix?: string;
  /** Per-request timeout in ms; 0 (default) means none, as with Nest's built-ins (use rxjs `timeout()`). */
  requestTimeout?: number;
  /** Largest encoded message, checked before publishing. Default and maximum 10 000 000 (Pub/Sub's limit). */
  maxMessageBytes?: number;
  /**
   * How long `send()`/`emit()` wait for Pub/Sub to accept a message, in ms; then they fail with
   * code `PUBLISH_TIMEOUT` (the message may or may not be published). Default 10 000 (the library
   * alone retries for up to a minute while Pub/Sub is unreachable).
   */
  publishTimeout?: number;
  /** Publisher options of the request/event topics (`batching`…). Default: the library's, but `batching.maxMilliseconds` 1. Message ordering is always enabled. */
  publishOptions?: PublishOptions;
  /** Ordering key for every message without one in its `PubSubRecord`: a constant, or a function of the route. */
  orderingKey?: string | ((route: string) => string | undefined);
}

/** The defaults, in one place (the options tables of the README show the same). */
export const PUBSUB_DEFAULTS = {
  autoCreate: false,
  connectTimeout: 10_000,
  maxConcurrency: 100,
  intake: 'streaming',
  /** `batchSize` defaults to `maxConcurrency`, at most this. */
  maxBatchSize: 1000,
  waitTimeSeconds: 5,
  /** `maxMessages` defaults to twice `maxConcurrency`. */
  flowControl: { maxBytes: 100 * 1024 * 1024 },
  /**
   * Publish batching window of requests, events and replies, in ms (the library's default is 10, which
   * each hop of a request waits at low load); what is published in one event-loop turn still shares a batch.
   */
  publishBatchingMs: 1,
  /** Ack/modack batching window of the subscriber, in ms (the library's default is 100). */
  ackBatchingMs: 10,
  onMalformed: 'retain',
  manualAck: false,
  closeTimeout: 30_000,
  requestResponse: true,
  replyTopicPrefix: 'nest-replies',
  requestTimeout: 0,
  publishTimeout: 10_000,
  maxMessageBytes: PUBSUB_MAX_MESSAGE_BYTES,
} as const;

const COMMON_KEYS = ['client', 'clientConfig', 'autoCreate', 'connectTimeout', 'codec', 'serializer', 'deserializer'] as const;
const SERVER_KEYS = [
  ...COMMON_KEYS,
  ...BROKERED_SERVER_OPTION_KEYS,
  'subscription',
  'subscriptions',
  'topic',
  'intake',
  'batchSize',
  'waitTimeSeconds',
  'flowControl',
  'subscriberOptions',
  'replyPublishOptions',
  'publishTimeout',
] as const;
const CLIENT_KEYS = [
  ...COMMON_KEYS,
  'topic',
  'requestResponse',
  'replyTopicPrefix',
  'requestTimeout',
  'publishTimeout',
  'maxMessageBytes',
  'publishOptions',
  'orderingKey',
] as const;

// Pub/Sub resource ids: 3–255 chars, start with a letter, no "goog" prefix; or a full path.
const RESOURCE_NAME = /^(projects\/[^/]+\/(topics|subscriptions)\/)?(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

function validateCommon(transport: string, options: PubSubCommonOptions) {
  const v = validateOptions(transport, options as PubSubCommonOptions & Record<string, unknown>);
  v.boolean('autoCreate').integer('connectTimeout', { min: 1 });
  v.check(
    options.client === undefined || typeof (options.client as PubSub).topic === 'function',
    'client',
    'is not a PubSub instance',
    'Pass `new PubSub({ projectId })` from @google-cloud/pubsub, or use clientConfig instead.',
  );
  v.check(
    options.client !== undefined || Boolean(options.clientConfig?.projectId || process.env.GOOGLE_CLOUD_PROJECT || process.env.GCLOUD_PROJECT),
    'clientConfig.projectId',
    'is missing',
    'Set clientConfig.projectId (or GOOGLE_CLOUD_PROJECT): without it the Google client queries the cloud metadata server.',
  );
  return v;
}

export function validateServerOptions(options: PubSubServerOptions): void {
  const transport = 'PubSubServer';
  const v = validateCommon(transport, options).known(SERVER_KEYS);
  v.string('topic', { pattern: RESOURCE_NAME });
  validateBrokeredServerOptions(transport, options);
  const specs = subscriptionSpecs(options);
  v.check(
    specs.length > 0,
    'subscription',
    'is missing',
    'Name the subscription to consume: { subscription: "orders-sub" } (or subscriptions: [...] for several).',
  );
  for (const spec of specs) {
    v.check(
      typeof spec.name === 'string' && RESOURCE_NAME.test(spec.name),
      'subscription',
      `has the invalid name ${JSON.stringify(spec.name)}`,
      'Use 3–255 letters, digits, - _ . ~ + %, starting with a letter (or projects/P/subscriptions/S).',
    );
  }
  v.oneOf('intake', ['streaming', 'pull']).integer('publishTimeout', { min: 1 });
  v.integer('batchSize', { min: 1, max: PUBSUB_DEFAULTS.maxBatchSize }).integer('waitTimeSeconds', { min: 2, max: 600 });
  const pull = options.intake === 'pull';
  for (const key of ['flowControl', 'subscriberOptions'] as const) {
    v.check(
      !pull || options[key] === undefined,
      key,
      'applies to intake "streaming" only',
      'With intake: "pull" the server pulls only what maxConcurrency leaves room for (batchSize per pull): remove this option, or use intake: "streaming".',
    );
  }
  for (const key of ['batchSize', 'waitTimeSeconds'] as const) {
    v.check(
      options[key] === undefined || pull,
      key,
      'applies to intake "pull" only',
      'Set intake: "pull", or remove this option (use flowControl with streaming pull).',
    );
  }
  const flow = options.flowControl ?? {};
  validateOptions(transport, flow as PubSubFlowControl & Record<string, unknown>)
    .known(['maxMessages', 'maxBytes'])
    .integer('maxMessages', { min: 1 })
    .integer('maxBytes', { min: 1 });
}

export function validateClientOptions(options: PubSubClientOptions): void {
  const v = validateCommon('PubSubClient', options).known(CLIENT_KEYS);
  v.check(
    typeof options.topic === 'function' || (typeof options.topic === 'string' && RESOURCE_NAME.test(options.topic)),
    'topic',
    options.topic === undefined ? 'is missing' : `is ${JSON.stringify(options.topic)}`,
    'Name the topic to publish to ({ topic: "orders" }), or pass a function from the pattern to a topic name.',
  );
  v.boolean('requestResponse')
    .string('replyTopicPrefix', { pattern: /^[A-Za-z][A-Za-z0-9\-_.~+%]{0,200}$/ })
    .integer('requestTimeout', { min: 0 })
    .integer('publishTimeout', { min: 1 })
    .integer('maxMessageBytes', { min: 1, max: PUBSUB_MAX_MESSAGE_BYTES });
  v.check(
    options.orderingKey === undefined || typeof options.orderingKey === 'string' || typeof options.orderingKey === 'function',
    'orderingKey',
    `is ${JSON.stringify(options.orderingKey)}`,
    'Use a string or a function (route) => string | undefined.',
  );
}

/** Server options, checked, with the defaults of PUBSUB_DEFAULTS filled in. */
export function resolveServerOptions(options: PubSubServerOptions) {
  validateServerOptions(options);
  const d = PUBSUB_DEFAULTS;
  return {
    ...options,
    autoCreate: options.autoCreate ?? d.autoCreate,
    connectTimeout: options.connectTimeout ?? d.connectTimeout,
    intake: options.intake ?? d.intake,
    batchSize: options.batchSize ?? Math.min(options.maxConcurrency ?? d.maxConcurrency, d.maxBatchSize),
    waitTimeSeconds: options.waitTimeSeconds ?? d.waitTimeSeconds,
    publishTimeout: options.publishTimeout ?? d.publishTimeout,
  };
}

/** Client options, checked, with the defaults of PUBSUB_DEFAULTS filled in. */
export function resolveClientOptions(options: PubSubClientOptions) {
  validateClientOptions(options);
  const d = PUBSUB_DEFAULTS;
  return {
    ...options,
    autoCreate: options.autoCreate ?? d.autoCreate,
    connectTimeout: options.connectTimeout ?? d.connectTimeout,
    requestResponse: options.requestResponse ?? d.requestResponse,
    replyTopicPrefix: options.replyTopicPrefix ?? d.replyTopicPrefix,
    requestTimeout: options.requestTimeout ?? d.requestTimeout,
    publishTimeout: options.publishTimeout ?? d.publishTimeout,
    maxMessageBytes: options.maxMessageBytes ?? d.maxMessageBytes,
  };
}

/** The server's subscriptions, normalised. */
export function subscriptionSpecs(options: PubSubServerOptions): PubSubSubscriptionSpec[] {
  const list = [...(options.subscription !== undefined ? [options.subscription] : []), ...(options.subscriptions ?? [])];
  return list.map((entry) => (typeof entry === 'string' ? { name: entry } : entry));
}

/**
 * The `PubSub` config the transport creates its client with. Against an emulator (emulatorMode,
 * or PUBSUB_EMULATOR_HOST without an apiEndpoint) the auth library would still probe the GCE
 * metadata server for the universe domain; naming it keeps every call on the emulator's address.
 * A universe domain alone would make the client take the endpoint for Google's (TLS and
 * credentials), so emulator mode is then stated explicitly.
 */
export function pubSubConfig(config: ClientConfig | undefined): ClientConfig | undefined {
  const emulated = config?.emulatorMode === true || (config?.emulatorMode === undefined && !config?.apiEndpoint && Boolean(process.env.PUBSUB_EMULATOR_HOST));
  return emulated && !config?.universeDomain ? { ...config, emulatorMode: true, universeDomain: 'googleapis.com' } : config;
}
