import { type Message, PubSub, type Subscription, type Topic } from '@google-cloud/pubsub';
import type { EventEmitter } from 'node:events';
import type { ReadPacket, WritePacket } from '@nestjs/microservices';
import {
  BrokeredClient,
  type Codec,
  ConnectionClosedError,
  describeError,
  resolveCodec,
  TransportError,
  type TraceFields,
  TransportStatus,
  uniqueName,
} from '@nest-transports/shared';
import { PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES, PubSubAttributes } from './constants.js';
import { PubSubAdmin } from './admin.js';
import { GrpcStatus, grpcCode, PubSubResourceMissingError } from './errors.js';
import { type PubSubClientOptions, pubSubConfig, resolveClientOptions } from './options.js';
import { acceptedWithin, publisherOptions } from './publish-timeout.js';
import { type PubSubRecordOptions, unwrapRecord } from './record.js';
import { closeStreamingPull } from './streaming-pull.js';

/** Events of the reply subscription, for `client.on()`. */
export type PubSubClientEvents = {
  error: (err: Error) => void;
  close: () => void;
};

const RECORD = Symbol('pubsub-record-options');
type OutgoingPacket = ReadPacket & { [RECORD]?: PubSubRecordOptions };

// Reply subscriptions of crashed clients disappear by themselves after a day unused.
const REPLY_SUBSCRIPTION_SETTINGS = {
  ackDeadlineSeconds: 10,
  expirationPolicy: { ttl: { seconds: 24 * 3600 } },
  messageRetentionDuration: { seconds: 600 },
};

/**
 * Nest `ClientProxy` over Google Cloud Pub/Sub. Events and requests are published to the
 * configured topic(s) with the pattern and correlation id in attributes; each client
 * instance owns a reply topic and subscription, created on `connect()` and deleted on
 * `close()`, so client replicas never take each other's replies.
 */
export class PubSubClient extends BrokeredClient {
  private readonly codec: Codec;
  private readonly topics = new Map<string, Topic>();
  private readonly listeners: Array<[keyof PubSubClientEvents, (...args: any[]) => void]> = [];
  private pubsub?: PubSub;
  private ownsClient = false;
  private reply?: { topic: string; subscriptionName: string; subscription: Subscription };

  private readonly options: ReturnType<typeof resolveClientOptions>;

  constructor(options: PubSubClientOptions) {
    const resolved = resolveClientOptions(options);
    super({ transport: 'PubSubClient', requestTimeout: resolved.requestTimeout, maxMessageBytes: resolved.maxMessageBytes });
    this.options = resolved;
    this.codec = resolveCodec('PubSubClient', options.codec);
    this.initializeSerializer(options as never);
    this.initializeDeserializer(options as never);
  }

  /** Checks the topic and creates this client's reply topic and subscription; called by `send`/`emit` too. */
  connect(): Promise<void> {
    return this.connectOnce(
      () => this.open(),
      () => this.teardown(),
    );
  }

  close(): Promise<void> {
    return this.closeOnce(() => this.teardown());
  }

  /** The `PubSub` client. */
  unwrap<T = PubSub>(): T {
    if (!this.pubsub) throw new TransportError('NOT_CONNECTED', 'PubSubClient: not connected. Call connect() (or send/emit) first.');
    return this.pubsub as T;
  }

  /** Listens to the reply subscription's `error` and `close` events. */
  override on<K extends keyof PubSubClientEvents>(event: K, callback: PubSubClientEvents[K]): void {
    this.listeners.push([event, callback as (...args: any[]) => void]);
    if (this.reply) emitter(this.reply.subscription).on(event, callback as (...args: any[]) => void);
  }

  /** Full name of this client's reply topic (after `connect()`). */
  get replyTopic(): string | undefined {
    return this.reply?.topic;
  }

  protected override publish(partial: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    return super.publish(withRecord(partial), callback);
  }

  protected override dispatchEvent<T = unknown>(partial: ReadPacket): Promise<T> {
    return super.dispatchEvent(withRecord(partial));
  }

  protected encode(serialized: unknown): Buffer {
    const encoded = this.codec.encode(serialized);
    return typeof encoded === 'string' ? Buffer.from(encoded) : encoded;
  }

  /** Health details: the topic (when it is one for every pattern) and this client's reply subscription still exist. */
  protected override async healthDetails(): Promise<Record<string, unknown>> {
    const { topic } = this.options;
    const admin = this.admin();
    if (typeof topic === 'string') await admin.ensureTopic(topic, false);
    const reply = this.reply;
    if (reply) await admin.ensureSubscription(reply.subscriptionName, undefined, false);
    return { topic: typeof topic === 'string' ? topic : null, replySubscription: reply?.subscriptionName ?? null };
  }

  protected override traceTarget(route: string): { system: string; destination: string } {
    return { system: 'gcp_pubsub', destination: this.topicName(route) };
  }

  protected async publishRequest(packet: OutgoingPacket & { id: string }, body: Buffer, trace?: TraceFields): Promise<void> {
    if (!this.reply) {
      if (this.options.requestResponse === false) {
        throw new TransportError(
          'REQUEST_RESPONSE_DISABLED',
          'PubSubClient: send() needs a reply topic; this client was created with requestResponse: false (use emit(), or remove that option).',
        );
      }
      throw new ConnectionClosedError('PubSubClient', 'the client closed before the request was sent');
    }
    await this.publishPacket(packet, body, { ...trace, [PubSubAttributes.ID]: packet.id, [PubSubAttributes.REPLY_TO]: this.reply.topic });
  }

  protected async publishEvent(packet: OutgoingPacket, body: Buffer, trace?: TraceFields): Promise<void> {
    await this.publishPacket(packet, body, { ...trace });
  }

  private async publishPacket(packet: OutgoingPacket, data: Buffer, nestAttributes: Record<string, string>): Promise<void> {
    const route = String(packet.pattern);
    const record = packet[RECORD];
    const attributes: Record<string, string> = { ...record?.attributes, ...nestAttributes };
    if (Buffer.byteLength(route) <= PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES) attributes[PubSubAttributes.PATTERN] = route;
    const orderingKey = record?.orderingKey ?? this.defaultOrderingKey(route);
    const topic = this.topic(this.topicName(route));
    const published = topic.publishMessage({ data, attributes, orderingKey });
    // A failed publish pauses its ordering key, also one that fails after the caller stopped waiting.
    published.catch(() => orderingKey && topic.resumePublishing(orderingKey));
    try {
      await acceptedWithin(published, 'PubSubClient', this.pubsub!, topic.name, this.options.publishTimeout);
    } catch (err) {
      if (grpcCode(err) === GrpcStatus.NOT_FOUND) throw new PubSubResourceMissingError('PubSubClient', 'topic', topic.name);
      throw err;
    }
  }

  private topicName(route: string): string {
    return typeof this.options.topic === 'function' ? this.options.topic(route) : this.options.topic;
  }

  private defaultOrderingKey(route: string): string | undefined {
    const option = this.options.orderingKey;
    return typeof option === 'function' ? option(route) : option;
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = this.pubsub!.topic(name, { ...publisherOptions(this.options.publishOptions, this.options.publishTimeout), messageOrdering: true });
      this.topics.set(name, topic);
    }
    return topic;
  }

  private admin(): PubSubAdmin {
    return new PubSubAdmin(this.pubsub!, 'PubSubClient', this.options.connectTimeout);
  }

  private async open(): Promise<void> {
    this.ownsClient = !this.options.client;
    this.pubsub = this.options.client ?? new PubSub(pubSubConfig(this.options.clientConfig));
    const admin = this.admin();
    await admin.checkCredentials();
    if (typeof this.options.topic === 'string') {
      await admin.ensureTopic(this.options.topic, this.options.autoCreate);
    }
    if (this.options.requestResponse) {
      const name = uniqueName(this.options.replyTopicPrefix);
      const topic = await admin.ensureTopic(name, true);
      await admin.ensureSubscription(name, topic, true, REPLY_SUBSCRIPTION_SETTINGS);
      const subscription = this.pubsub.subscription(name, { flowControl: { maxMessages: 1000 } });
      this.reply = { topic, subscriptionName: name, subscription };
      subscription.on('error', (err: Error) => this.logger.error(`PubSubClient reply subscription failed: ${describeError(err).message}`));
      subscription.on('close', () => this.onReplyClosed(subscription));
      for (const [event, callback] of this.listeners) emitter(subscription).on(event, callback);
      subscription.on('message', (message: Message) => void this.onReply(message));
    }
    this._status$.next(TransportStatus.CONNECTED);
  }

  private async onReply(message: Message): Promise<void> {
    message.ack(); // a reply is for this client alone; a lost one ends in the request's timeout
    try {
      await this.acceptReply(this.codec.decode(message.data), message.attributes?.[PubSubAttributes.ID], message.attributes?.[PubSubAttributes.SEQ]);
    } catch (err) {
      this.logger.warn(`PubSubClient dropped a reply it could not read: ${describeError(err).message}`);
    }
  }

  /** The reply subscription died (not through `close()`): fail the waiting callers, reconnect on next use. */
  private onReplyClosed(subscription: Subscription): void {
    if (this.reply?.subscription !== subscription || !this.forgetConnection()) return;
    this.failPending('the reply subscription closed');
    this._status$.next(TransportStatus.DISCONNECTED);
    void this.teardown();
  }

  private async teardown(): Promise<void> {
    const reply = this.reply;
    const pubsub = this.pubsub;
    this.reply = undefined;
    if (reply) {
      reply.subscription.removeAllListeners('message');
      await closeStreamingPull(reply.subscription, this.options.connectTimeout).catch(() => undefined);
      reply.subscription.removeAllListeners();
      const admin = this.admin();
      await admin
        .deleteQuietly('subscription', reply.subscriptionName)
        .catch((err) => this.logger.warn(`Could not delete reply subscription: ${describeError(err).message}`));
      await admin.deleteQuietly('topic', reply.topic).catch((err) => this.logger.warn(`Could not delete reply topic: ${describeError(err).message}`));
    }
    await Promise.allSettled([...this.topics.values()].map((topic) => topic.flush()));
    this.topics.clear();
    if (this.ownsClient) await pubsub?.close().catch(() => undefined);
    if (this.pubsub === pubsub) this.pubsub = undefined;
  }
}

const emitter = (subscription: Subscription) => subscription as unknown as EventEmitter;

function withRecord(partial: ReadPacket): OutgoingPacket {
  const { data, options } = unwrapRecord(partial.data);
  return options ? { ...partial, data, [RECORD]: options } : partial;
}
