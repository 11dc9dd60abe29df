import type { ConsumerConfig, StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import type { Deserializer, Serializer } from '@nestjs/microservices';
import {
  BROKERED_SERVER_OPTION_KEYS,
  type BrokeredServerOptions,
  type CodecOption,
  type OptionValidator,
  validateBrokeredServerOptions,
  validateOptions,
} from '@nest-transports/shared';
import { isValidSubject } from './wire.js';

/** Where the transport gets its NATS connection, and what both ends share. */
export interface JetStreamCommonOptions {
  /** NATS server URL(s). Default `nats://localhost:4222`. */
  servers?: string | string[];
  /** Passed to `connect()` of @nats-io/transport-node: credentials, `tls`, `name`, reconnect settings… */
  connectionOptions?: Omit<NodeConnectionOptions, 'servers'>;
  /** An existing connection to use instead (`servers`/`connectionOptions` are then ignored). The transport never closes it. */
  connection?: NatsConnection;
  /** Bound on connecting and on the start-up checks (JetStream enabled, stream and consumer present), in ms. Default 5000. */
  connectTimeout?: number;
  /** Subjects of requests are `${requestPrefix}.${route}` (core NATS, never a stream). Must match on both ends. Default `nest.rpc`. */
  requestPrefix?: string;
  /** Byte layer under the serializer: "json" (default), "msgpack" or your own codec. */
  codec?: CodecOption;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

/** The server options shared with every brokered transport (`maxConcurrency`, `closeTimeout`, `manualAck`, …) plus JetStream's own. */
export interface JetStreamServerOptions extends JetStreamCommonOptions, BrokeredServerOptions {
  /** The stream holding the events this server consumes. Without `stream` and `consumer` the server answers requests only. */
  stream?: string;
  /**
   * The durable pull consumer to read the stream through. Replicas of one service share one
   * consumer (competing consumers: each event handled once); each service has its own (fan-out).
   */
  consumer?: string;
  /** Create the stream, the consumer and the dead-letter stream when they are missing. Default `false`: missing ones fail `listen()`. */
  autoCreate?: boolean;
  /** How `autoCreate` creates the stream; `subjects` is required then (e.g. `['orders.>']`). */
  streamConfig?: Partial<StreamConfig>;
  /** How `autoCreate` creates the consumer (`filter_subject`, `ack_wait`, `max_ack_pending`, `deliver_policy`…); ack policy is always explicit. */
  consumerConfig?: Partial<ConsumerConfig>;
  /**
   * Deliveries before a failing message goes to `deadLetterSubject`. Default: the consumer's
   * `max_deliver` when it has one; `autoCreate` creates the consumer with this value (default 5).
   */
  maxDeliveries?: number;
  /** Subject dead messages are published to (with their headers and the reason); a stream must capture it (`autoCreate` makes one). */
  deadLetterSubject?: string;
  /** `"subject"`: events of one subject are handled one after another, in stream order. Default `"none"` (concurrently). */
  ordering?: 'none' | 'subject';
  /** Messages asked for per pull. Default `maxConcurrency` (at most 256). */
  batchSize?: number;
  /** Core NATS queue group of the request subscriptions: servers in one group share requests. Default `nest-rpc`. */
  queue?: string;
}

export interface JetStreamClientOptions extends JetStreamCommonOptions {
  /**
   * Subject an event is published to: a constant, or a function of the pattern's route. Default:
   * the route itself (`emit('orders.created', …)` publishes on `orders.created`). A stream must capture it.
   */
  subject?: string | ((route: string) => string);
  /** Per-request timeout in ms; 0 (default) means none, as with Nest's built-ins (use rxjs `timeout()`). */
  requestTimeout?: number;
  /** How long `emit()` waits for the stream's acknowledgement, in ms. Default 5000. */
  publishTimeout?: number;
  /** Largest message (body and headers), checked before publishing. Default and maximum: the NATS server's `max_payload`. */
  maxMessageBytes?: number;
}

/** The defaults, in one place (the README's options tables show the same). */
export const JETSTREAM_DEFAULTS = {
  servers: 'nats://localhost:4222',
  connectTimeout: 5000,
  requestPrefix: 'nest.rpc',
  autoCreate: false,
  maxConcurrency: 100,
  maxBatchSize: 256,
  /** `max_deliver` of a consumer `autoCreate` makes. */
  maxDeliveries: 5,
  ordering: 'none',
  queue: 'nest-rpc',
  closeTimeout: 10_000,
  manualAck: false,
  onMalformed: 'retain',
  /** Growing delay before a failed message comes back: 1, 2, 4… s, at most a minute. */
  retryDelaySeconds: (attempt: number) => Math.min(2 ** Math.max(0, attempt - 1), 60),
  requestTimeout: 0,
  publishTimeout: 5000,
} as const;

const COMMON_KEYS = ['servers', 'connectionOptions', 'connection', 'connectTimeout', 'requestPrefix', 'codec', 'serializer', 'deserializer'] as const;
const SERVER_KEYS = [
  ...COMMON_KEYS,
  ...BROKERED_SERVER_OPTION_KEYS,
  'stream',
  'consumer',
  'autoCreate',
  'streamConfig',
  'consumerConfig',
  'maxDeliveries',
  'deadLetterSubject',
  'ordering',
  'batchSize',
  'queue',
] as const;
const CLIENT_KEYS = [...COMMON_KEYS, 'subject', 'requestTimeout', 'publishTimeout', 'maxMessageBytes'] as const;

/** Stream and consumer names: no whitespace, `.`, `*`, `>`, path separators. */
const NAME = /^[^\s.*>/\\]{1,255}$/;

function validateCommon(transport: string, options: JetStreamCommonOptions): OptionValidator<JetStreamCommonOptions> {
  const v = validateOptions(transport, options);
  const servers = options.servers;
  v.check(
    servers === undefined ||
      (typeof servers === 'string' && servers.length > 0) ||
      (Array.isArray(servers) && servers.length > 0 && servers.every((s) => typeof s === 'string' && s.length > 0)),
    'servers',
    `is ${JSON.stringify(servers)}`,
    'Use a NATS URL such as "nats://localhost:4222", or an array of them.',
  );
  v.check(
    options.connection === undefined || typeof (options.connection as NatsConnection).subscribe === 'function',
    'connection',
    'is not a NatsConnection',
    'Pass the result of connect() from @nats-io/transport-node, or use servers/connectionOptions instead.',
  );
  v.integer('connectTimeout', { min: 1 });
  v.check(
    options.requestPrefix === undefined || (typeof options.requestPrefix === 'string' && isValidSubject(options.requestPrefix)),
    'requestPrefix',
    `is ${JSON.stringify(options.requestPrefix)}`,
    'Use a NATS subject without wildcards or whitespace, e.g. "nest.rpc".',
  );
  return v;
}

export function validateServerOptions(options: JetStreamServerOptions): void {
  const transport = 'JetStreamServer';
  const v = validateCommon(transport, options).known(SERVER_KEYS);
  validateBrokeredServerOptions(transport, options);
  const s = validateOptions(transport, options)
    .string('stream', { pattern: NAME })
    .string('consumer', { pattern: NAME })
    .boolean('autoCreate')
    .integer('maxDeliveries', { min: 1, max: 1_000_000 })
    .oneOf('ordering', ['none', 'subject'] as const)
    .integer('batchSize', { min: 1, max: 10_000 })
    .string('queue', { pattern: /^[^\s]+$/ });
  v.check(
    (options.stream === undefined) === (options.consumer === undefined),
    options.stream === undefined ? 'stream' : 'consumer',
    'is missing',
    'Events need both: the stream that holds them and the durable consumer to read it through, e.g. { stream: "ORDERS", consumer: "orders-service" }.',
  );
  s.check(
    options.deadLetterSubject === undefined || options.stream !== undefined,
    'deadLetterSubject',
    'is set without a stream and consumer',
    'Dead letters are events that failed: configure stream and consumer too, or remove deadLetterSubject.',
  );
  s.check(
    options.deadLetterSubject === undefined || (typeof options.deadLetterSubject === 'string' && isValidSubject(options.deadLetterSubject)),
    'deadLetterSubject',
    `is ${JSON.stringify(options.deadLetterSubject)}`,
    'Use a NATS subject without wildcards or whitespace, e.g. "orders.dead-letter".',
  );
  const subjects = options.streamConfig?.subjects;
  s.check(
    subjects === undefined || (Array.isArray(subjects) && subjects.length > 0 && subjects.every((x) => typeof x === 'string' && x.length > 0 && !/\s/.test(x))),
    'streamConfig.subjects',
    `is ${JSON.stringify(subjects)}`,
    'Use the subjects the stream captures, e.g. ["orders.>"] (clients publish events on their pattern by default).',
  );
  s.check(
    options.consumerConfig?.ack_policy === undefined || options.consumerConfig.ack_policy === 'explicit',
    'consumerConfig.ack_policy',
    `is ${JSON.stringify(options.consumerConfig?.ack_policy)}`,
    'Leave it out: the transport acknowledges each message after its handlers succeeded, which needs "explicit".',
  );
}

export function validateClientOptions(options: JetStreamClientOptions): void {
  const v = validateCommon('JetStreamClient', options).known(CLIENT_KEYS);
  v.check(
    options.subject === undefined || typeof options.subject === 'function' || (typeof options.subject === 'string' && isValidSubject(options.subject)),
    'subject',
    `is ${JSON.stringify(options.subject)}`,
    'Use a NATS subject without wildcards or whitespace, or a function (route) => subject.',
  );
  validateOptions('JetStreamClient', options)
    .integer('requestTimeout', { min: 0 })
    .integer('publishTimeout', { min: 1 })
    .integer('maxMessageBytes', { min: 1 });
}
