import { Duration, type Message, PubSub, type Subscription } from '@google-cloud/pubsub';
import type { EventEmitter } from 'node:events';
import { type CustomTransportStrategy, Server } from '@nestjs/microservices';
import { backoffDelay, type Codec, describeError, InFlightTracker, KeyedSerialRunner, resolveCodec, TransportStatus, RouteMemo } from '@nest-transports/shared';
import { PUBSUB_TRANSPORT } from './constants.js';
import type { PubSubAckControl } from './context.js';
import { PubSubAdmin } from './admin.js';
import { PUBSUB_DEFAULTS, type PubSubServerOptions, type PubSubSubscriptionSpec, subscriptionSpecs, validateServerOptions, pubSubConfig } from './options.js';
import { type PubSubOutcome, PubSubProcessing, type PubSubSource } from './processing.js';
import { type PubSubPushResult, parsePushRequest } from './push.js';
import { ReplyPublisher } from './replies.js';
import { HandlerSlots } from './handler-slots.js';
import { closeStreamingPull } from './streaming-pull.js';

/** Events of the underlying subscriptions, for `server.on()`. */
export type PubSubServerEvents = {
  error: (err: Error, subscription: string) => void;
  close: (subscription: string) => void;
  debug: (msg: unknown, subscription: string) => void;
};

interface Intake {
  spec: PubSubSubscriptionSpec;
  source: PubSubSource;
  subscription?: Subscription;
  reopenAttempt: number;
  reopenTimer?: NodeJS.Timeout;
  /** Handlers running at once for this subscription: `flowControl.maxMessages`. */
  slots: HandlerSlots;
  /** Ordering keys whose last message was nacked, with the time: their earlier-received successors are nacked too. */
  failedKeys: Map<string, number>;
}

const REOPEN_BACKOFF = { initialDelay: 500, maxDelay: 30_000 };

/**
 * Nest microservice strategy over Google Cloud Pub/Sub streaming pull. Messages are
 * acked only after their handlers succeeded (or a request's replies are published) and
 * nacked on failure, so redelivery and dead-letter policies work.
 */
/** Default ack/modack batching window of the subscriber, in ms. */
const ACK_BATCH_MS = 10;
/**
 * Messages the library may lease, per handler slot. It counts a message until its ack batch has
 * been sent and answered (window + one Acknowledge round trip), so a lease limit equal to the
 * handler limit leaves handlers waiting on acks: room for as many acks in flight as handlers.
 */
const LEASES_PER_HANDLER = 2;

export class PubSubServer extends Server<PubSubServerEvents, TransportStatus> implements CustomTransportStrategy {
  private readonly routes = new RouteMemo(
    (pattern) => super.getRouteFromPattern(pattern),
    (route) => this.messageHandlers.has(route),
  );
  override transportId = PUBSUB_TRANSPORT;
  override readonly propagatesEventHandlerErrors = true;

  private readonly codec: Codec;
  private readonly specs: PubSubSubscriptionSpec[];
  private readonly inFlight = new InFlightTracker();
  private readonly serial = new KeyedSerialRunner();
  private readonly listeners: Array<[keyof PubSubServerEvents, (...args: any[]) => void]> = [];
  private pubsub?: PubSub;
  private ownsClient = false;
  private replies?: ReplyPublisher;
  private processing?: PubSubProcessing;
  private intakes: Intake[] = [];
  private closing = false;

  constructor(private readonly options: PubSubServerOptions) {
    super();
    validateServerOptions(options);
    this.specs = subscriptionSpecs(options);
    this.codec = resolveCodec('PubSubServer', options.codec);
    this.initializeSerializer(options as never);
    this.initializeDeserializer(options as never);
  }

  protected override getRouteFromPattern(pattern: string): string {
    return this.routes.route(pattern);
  }

  async listen(callback: (err?: unknown, ...optionalParams: unknown[]) => void): Promise<void> {
    try {
      await this.start();
    } catch (err) {
      this.logger.error(describeError(err).message);
      await this.shutdown(0).catch(() => undefined);
      return callback(err);
    }
    callback();
  }

  async close(): Promise<void> {
    await this.shutdown(this.options.closeTimeout ?? PUBSUB_DEFAULTS.closeTimeout);
  }

  /** The `PubSub` client. */
  unwrap<T = PubSub>(): T {
    if (!this.pubsub) {
      throw new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method before accessing the server.');
    }
    return this.pubsub as T;
  }

  /** Listens to the subscriptions' `error`, `close` and `debug` events; each callback also gets the subscription name. */
  on<K extends keyof PubSubServerEvents>(event: K, callback: PubSubServerEvents[K]): void {
    this.listeners.push([event, callback as (...args: any[]) => void]);
    for (const intake of this.intakes) if (intake.subscription) this.attachListener(intake, event, callback as (...args: any[]) => void);
  }

  /**
   * Processes one push-subscription request body (`{ message, subscription }`), for a push
   * endpoint in an HTTP app: answer with the returned status (2xx acks, 5xx makes Pub/Sub retry).
   * The server must be listening, or `preparePush()` must have been called.
   */
  async handlePush(body: unknown): Promise<PubSubPushResult> {
    const processing = this.prepareProcessing();
    const parsed = parsePushRequest(body);
    if ('error' in parsed) return { status: 400, outcome: { action: 'ack', reason: 'malformed', error: parsed.error } };
    const spec = this.specs.find((s) => parsed.subscription.endsWith(`/${shortName(s.name)}`) || s.name === parsed.subscription);
    const source = this.sourceOf(spec ?? { name: parsed.subscription }, parsed.subscription);
    const outcome = await this.inFlight.track(processing.process(parsed.message, source));
    return { status: outcome.action === 'ack' ? 204 : 500, outcome };
  }

  /** Prepares processing without streaming pull (push-only deployments). */
  preparePush(): void {
    this.prepareProcessing();
  }

  private prepareProcessing(): PubSubProcessing {
    if (this.processing) return this.processing;
    const ownsClient = !this.options.client;
    const pubsub = this.options.client ?? new PubSub(pubSubConfig(this.options.clientConfig));
    this.pubsub = pubsub;
    this.replies = new ReplyPublisher(pubsub, this.options.replyPublishOptions);
    this.processing = new PubSubProcessing({
      server: this as unknown as Server,
      logger: this.logger,
      codec: this.codec,
      serializer: () => this.serializer,
      deserializer: () => this.deserializer,
      route: (pattern) => (typeof pattern === 'string' ? this.getRouteFromPattern(pattern) : this.normalizePattern(pattern as never)),
      replies: this.replies,
      malformedMessages: this.options.malformedMessages ?? PUBSUB_DEFAULTS.malformedMessages,
    });
    this.ownsClient = ownsClient;
    return this.processing;
  }

  private async start(): Promise<void> {
    this.closing = false;
    this.prepareProcessing();
    const admin = this.admin();
    const intakes: Intake[] = [];
    for (const spec of this.specs) {
      const name = await admin.ensureSubscription(spec.name, spec.topic ?? this.options.topic, this.autoCreate, spec.create);
      intakes.push({ spec, source: this.sourceOf(spec, name), reopenAttempt: 0, failedKeys: new Map(), slots: new HandlerSlots(this.flowControl.maxMessages) });
    }
    this.intakes = intakes;
    for (const intake of intakes) this.open(intake);
    this._status$.next(TransportStatus.CONNECTED);
  }

  private get flowControl() {
    return { ...PUBSUB_DEFAULTS.flowControl, ...this.options.flowControl };
  }

  private get autoCreate() {
    return this.options.autoCreate ?? PUBSUB_DEFAULTS.autoCreate;
  }

  private admin() {
    return new PubSubAdmin(this.pubsub!, 'PubSubServer', this.options.connectTimeout ?? PUBSUB_DEFAULTS.connectTimeout);
  }

  private sourceOf(spec: PubSubSubscriptionSpec, fullName: string): PubSubSource {
    return { subscription: fullName, defaultPattern: spec.defaultPattern ?? this.options.defaultPattern ?? shortName(spec.name) };
  }

  private open(intake: Intake): void {
    const closeTimeout = this.options.closeTimeout ?? PUBSUB_DEFAULTS.closeTimeout;
    const subscription = this.pubsub!.subscription(intake.source.subscription, {
      ...this.options.subscriberOptions,
      // The library frees a flow-control slot only once its ack batch is flushed (default: up to
      // 100 ms): a short window keeps `maxMessages` handlers busy instead of ~1k msg/s at most.
      batching: { maxMilliseconds: ACK_BATCH_MS, ...this.options.subscriberOptions?.batching },
      // `maxMessages` handlers at once (intake.slots); the library leases room for their acks on top.
      flowControl: { ...this.flowControl, maxMessages: this.flowControl.maxMessages * LEASES_PER_HANDLER, allowExcessMessages: false },
      // On close: stop pulling, let dispatched messages finish (acks flushed), nack the rest.
      closeOptions: { behavior: 'WAIT', timeout: Duration.from({ milliseconds: closeTimeout }) },
    });
    intake.subscription = subscription;
    subscription.on('error', (err: Error) => {
      if (this.closing) return;
      this.logger.error(`Subscription ${intake.source.subscription} failed: ${describeError(err).message}`);
    });
    subscription.on('close', () => this.onIntakeClosed(intake, subscription));
    for (const [event, callback] of this.listeners) this.attachListener(intake, event, callback);
    subscription.on('message', (message: Message) => this.onMessage(message, intake));
  }

  private attachListener(intake: Intake, event: keyof PubSubServerEvents, callback: (...args: any[]) => void) {
    (intake.subscription as unknown as EventEmitter).on(event, (...args: unknown[]) => callback(...args, intake.source.subscription));
  }

  /** The library gives up on a stream after a non-retryable error: reopen with backoff. */
  private onIntakeClosed(intake: Intake, subscription: Subscription): void {
    if (this.closing || intake.subscription !== subscription) return;
    this._status$.next(TransportStatus.RECONNECTING);
    const delay = backoffDelay(intake.reopenAttempt++, REOPEN_BACKOFF);
    this.logger.warn?.(`Subscription ${intake.source.subscription} closed; reopening in ${delay} ms`);
    intake.reopenTimer = setTimeout(() => void this.reopen(intake, subscription), delay);
  }

  private async reopen(intake: Intake, previous: Subscription): Promise<void> {
    if (this.closing) return;
    try {
      await this.admin().ensureSubscription(intake.spec.name, intake.spec.topic ?? this.options.topic, this.autoCreate, intake.spec.create);
      if (this.closing) return; // close() began meanwhile: a new streaming pull would outlive it
      previous.removeAllListeners();
      this.open(intake);
      intake.reopenAttempt = 0;
      this._status$.next(TransportStatus.CONNECTED);
    } catch (err) {
      this.logger.error(`Reopening ${intake.source.subscription} failed: ${describeError(err).message}`);
      this.onIntakeClosed(intake, previous);
    }
  }

  private onMessage(message: Message, intake: Intake): void {
    if (this.closing) {
      message.nack();
      return;
    }
    const key = message.orderingKey;
    const run = () => this.handleMessage(message, intake);
    void this.inFlight.track(key ? this.serial.run(key, run) : run());
  }

  private async handleMessage(message: Message, intake: Intake): Promise<void> {
    if (!intake.slots.tryAcquire()) {
      await intake.slots.acquire();
      if (this.closing) {
        // Not started before close(): redelivered, like a message that arrives during close
        // (and so are the later ones of its ordering key).
        intake.slots.release();
        if (message.orderingKey) intake.failedKeys.set(message.orderingKey, Date.now());
        return this.settle(message, 'nack');
      }
    }
    let outcome: PubSubOutcome | undefined;
    try {
      outcome = await this.runHandlers(message, intake);
    } finally {
      intake.slots.release(); // the ack goes out on the library's lease, not on a handler slot
    }
    if (outcome) await this.settle(message, outcome.action);
  }

  /** Runs the handlers; returns the outcome to settle with, or nothing when it is settled already. */
  private async runHandlers(message: Message, intake: Intake): Promise<PubSubOutcome | undefined> {
    const key = message.orderingKey;
    if (key) {
      // Pub/Sub redelivers a nacked message and every later one of its key: handling the
      // later ones now would break the order.
      const failedAt = intake.failedKeys.get(key);
      if (failedAt !== undefined && message.received <= failedAt) return { action: 'nack', error: undefined };
      intake.failedKeys.delete(key);
    }
    const control = this.options.manualAck ? manualControl(message) : undefined;
    let outcome: PubSubOutcome;
    try {
      outcome = await this.processing!.process(message, intake.source, control);
    } catch (error) {
      outcome = { action: 'nack', error };
    }
    if (control) {
      const handlerDecides = outcome.action === 'ack' && 'reason' in outcome && outcome.reason !== 'no-handler' && outcome.reason !== 'malformed';
      if (control.settled || handlerDecides) return undefined;
    }
    if (key && outcome.action === 'nack') intake.failedKeys.set(key, Date.now());
    return outcome;
  }

  private async settle(message: Message, action: 'ack' | 'nack'): Promise<void> {
    try {
      await (action === 'ack' ? message.ackWithResponse() : message.nackWithResponse());
    } catch (err) {
      // Exactly-once subscriptions report failed acks; Pub/Sub then redelivers the message.
      this.logger.warn?.(`Could not ${action} message ${message.id}: ${describeError(err).message}`);
    }
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    for (const intake of this.intakes) clearTimeout(intake.reopenTimer);
    const connectTimeout = this.options.connectTimeout ?? PUBSUB_DEFAULTS.connectTimeout;
    await Promise.allSettled(this.intakes.map((intake) => intake.subscription && closeStreamingPull(intake.subscription, connectTimeout)));
    if (!(await this.inFlight.drain(timeoutMs))) {
      this.logger.warn?.(`PubSubServer closed with ${this.inFlight.size} handlers still running after ${timeoutMs} ms`);
    }
    for (const intake of this.intakes) intake.subscription?.removeAllListeners();
    this.intakes = [];
    await this.replies?.flush();
    if (this.ownsClient) await this.pubsub?.close().catch(() => undefined);
    this.processing = undefined;
    this.replies = undefined;
    this.pubsub = undefined;
    this._status$.next(TransportStatus.DISCONNECTED);
  }
}

function manualControl(message: Message): PubSubAckControl {
  let settled = false;
  const settle = async (action: 'ack' | 'nack') => {
    if (settled) return;
    settled = true;
    await (action === 'ack' ? message.ackWithResponse() : message.nackWithResponse());
  };
  return {
    ack: () => settle('ack'),
    nack: () => settle('nack'),
    get settled() {
      return settled;
    },
  };
}

const shortName = (name: string) => name.split('/').pop() ?? name;
