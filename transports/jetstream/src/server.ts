import { type ConsumerMessages, jetstream, type JsMsg } from '@nats-io/jetstream';
import { type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  BrokeredServer,
  deferred,
  describeError,
  type Inbound,
  type ManualSettlement,
  type OutgoingReply,
  type PacketMetadata,
  type ReleaseReason,
  resolveCodec,
  TransportError,
  within,
} from '@nest-transports/shared';
import { JetStreamAdmin } from './admin.js';
import { closeLink, followStatus, type NatsLink, openLink, withReconnectDefaults } from './connection.js';
import { JetStreamContext } from './context.js';
import { DeadLetters } from './dead-letter.js';
import { LeaseKeeper } from './lease.js';
import { JETSTREAM_DEFAULTS, type JetStreamServerOptions, validateServerOptions } from './options.js';
import { bodyForCodec, buildHeaders, headerRecord, isValidSubject, JetStreamHeaders, messageSize, requestSubject } from './wire.js';

/** Identifies the JetStream transport (hybrid apps: `@MessagePattern('x', JETSTREAM_TRANSPORT)`). */
export const JETSTREAM_TRANSPORT = Symbol('JETSTREAM_TRANSPORT');

/** Events for `server.on()`: each NATS status by its type, and `error` for what the server survives. */
export type JetStreamServerEvents = {
  error: (err: unknown, source?: string) => void;
  disconnect: (status: { server: string }) => void;
  reconnect: (status: { server: string }) => void;
  reconnecting: () => void;
};

/**
 * How long a pull request waits for messages. The library's default (30 s) is also how long it
 * waits before checking the consumer again when that check fails after a reconnect (JetStream still
 * recovering its store), and half of it how soon missed heartbeats are noticed: 5 s brings a server
 * back within seconds after an outage, for one idle pull every 5 s.
 */
const PULL_EXPIRES_MS = 5000;

/** Bound on the flush that lets messages in transit arrive before the server stops taking them. */
const STOP_FLUSH_MS = 2000;

/** Bytes of requests a server holds (waiting for a handler, or running) before it refuses more. */
const MAX_HELD_REQUEST_BYTES = 64 * 1024 * 1024;

/** An event from the stream (`JsMsg`) or a request over core NATS (`Msg`). */
type Message = JsMsg | Msg;
const fromStream = (message: Message): message is JsMsg => typeof (message as JsMsg).working === 'function';

/**
 * Nest microservice strategy over NATS JetStream, on the shared brokered server: this file is the
 * intake (a durable pull consumer for events, core NATS subscriptions for requests), the settle
 * calls (ack, nak with a delay, term after dead-lettering) and the replies; `admin.ts` checks and
 * provisions the stream and the consumer.
 */
export class JetStreamServer extends BrokeredServer<Message, JetStreamServerEvents> {
  override transportId = JETSTREAM_TRANSPORT;

  private link?: NatsLink;
  private consumed?: ConsumerMessages;
  private intake?: Promise<void>;
  /** Resolved once the NATS server has dropped this server's pull request: hand-backs wait for it. */
  private pullClosed?: { promise: Promise<void>; resolve: () => void };
  private stopping = new AbortController();
  private requestSubscriptions: Subscription[] = [];
  private deadLetters?: DeadLetters;
  private readonly leases = new LeaseKeeper();
  private heldRequestBytes = 0;
  private readonly requestPrefix: string;

  constructor(private readonly options: JetStreamServerOptions = {}) {
    validateServerOptions(options);
    super({
      ...options,
      transport: 'JetStreamServer',
      messagingSystem: 'nats',
      codec: resolveCodec('JetStreamServer', options.codec),
      maxConcurrency: options.maxConcurrency ?? JETSTREAM_DEFAULTS.maxConcurrency,
      closeTimeout: options.closeTimeout ?? JETSTREAM_DEFAULTS.closeTimeout,
      manualAck: options.manualAck ?? JETSTREAM_DEFAULTS.manualAck,
      onMalformed: options.onMalformed ?? JETSTREAM_DEFAULTS.onMalformed,
      retryDelaySeconds: options.retryDelaySeconds ?? JETSTREAM_DEFAULTS.retryDelaySeconds,
      maxReplyBytes: Number.MAX_SAFE_INTEGER, // the NATS server's max_payload, learnt at listen()
      deadLetters: options.deadLetterSubject !== undefined,
    });
    this.requestPrefix = options.requestPrefix ?? JETSTREAM_DEFAULTS.requestPrefix;
  }

  /** The `NatsConnection`. */
  unwrap<T = NatsConnection>(): T {
    if (!this.link) throw new TransportError('NOT_CONNECTED', 'JetStreamServer: not listening. Call listen() (or startAllMicroservices()) first.');
    return this.link.nc as T;
  }

  override on<K extends keyof JetStreamServerEvents>(event: K, callback: JetStreamServerEvents[K]): void {
    super.on(event, callback);
  }

  // ---- intake ----

  protected async startIntake(): Promise<void> {
    this.stopping = new AbortController();
    const link = await openLink('JetStreamServer', withReconnectDefaults(this.options));
    this.link = link;
    this.settings.maxReplyBytes = link.nc.info?.max_payload ?? Number.MAX_SAFE_INTEGER;
    followStatus(link.nc, (status) => this._status$.next(status), this.events);
    const admin = new JetStreamAdmin(link.jsm, 'JetStreamServer');
    const subjects = this.requestRoutes().map((route) => {
      const subject = requestSubject(this.requestPrefix, route);
      if (!isValidSubject(subject)) {
        throw new TransportError(
          'INVALID_SUBJECT',
          `JetStreamServer: the @MessagePattern ${JSON.stringify(route)} gives the request subject "${subject}", which NATS does not accept (whitespace, an empty token or a wildcard).`,
        );
      }
      return subject;
    });
    await admin.checkRequestSubjects(subjects);
    if (this.options.stream && this.options.consumer) await this.startConsumer(admin, this.options.stream, this.options.consumer);
    else if (this.eventRoutes().length > 0) this.logger.warn('JetStreamServer has @EventPattern handlers but no stream and consumer: it consumes no events.');
    const queue = this.options.queue ?? JETSTREAM_DEFAULTS.queue;
    this.requestSubscriptions = subjects.map((subject) =>
      link.nc.subscribe(subject, { queue, callback: (err, msg) => (err ? this.emitError(err, subject) : this.onRequest(msg)) }),
    );
    this.deadLetters?.listen(link.nc, queue);
    // A subscription is a line buffered for the NATS server: without this round trip, listen()
    // resolves before the server knows it, and a caller's first request meets "no responders".
    const timeout = this.options.connectTimeout ?? JETSTREAM_DEFAULTS.connectTimeout;
    await within(link.nc.flush(), timeout, `the NATS server to register the request subscriptions (connectTimeout ${timeout} ms)`);
  }

  /** Health details: a round trip to the NATS server, and the consumer's backlog (pending, unacknowledged, redelivered). */
  protected override async healthDetails(): Promise<Record<string, unknown>> {
    const { nc, jsm } = this.link!;
    const rtt = await nc.rtt();
    const { stream, consumer } = this.options;
    if (!stream || !consumer) return { rttMs: rtt };
    const info = await jsm.consumers.info(stream, consumer);
    return { rttMs: rtt, consumer: `${stream}/${consumer}`, backlog: info.num_pending, unacked: info.num_ack_pending, redelivered: info.num_redelivered };
  }

  private async startConsumer(admin: JetStreamAdmin, stream: string, consumer: string): Promise<void> {
    const { options } = this;
    const autoCreate = options.autoCreate ?? JETSTREAM_DEFAULTS.autoCreate;
    await admin.ensureStream(stream, autoCreate, options.streamConfig);
    const info = await admin.ensureConsumer(stream, consumer, autoCreate, options.consumerConfig, options.maxDeliveries ?? JETSTREAM_DEFAULTS.maxDeliveries);
    this.leases.setAckWait((info.config.ack_wait ?? 30e9) / 1e6);
    const { nc, jsm } = this.link!;
    if (options.deadLetterSubject) {
      await admin.ensureDeadLetterStream(options.deadLetterSubject, stream, info.config.filter_subject, autoCreate);
      const maxDeliver = info.config.max_deliver ?? -1;
      this.settings.maxDeliveries = options.maxDeliveries ?? (maxDeliver > 0 ? maxDeliver : JETSTREAM_DEFAULTS.maxDeliveries);
      const publishTimeout = options.connectTimeout ?? JETSTREAM_DEFAULTS.connectTimeout;
      this.deadLetters = new DeadLetters(jetstream(nc), jsm, { subject: options.deadLetterSubject, stream, consumer, publishTimeout }, this.logs);
    } else {
      this.logger.warn(
        `JetStreamServer: consumer "${consumer}" has no dead-letter subject: a message that keeps failing is retried until the consumer's max_deliver ` +
          `(${info.config.max_deliver ?? -1}) and then left in the stream undelivered. Set deadLetterSubject to keep such messages with the reason.`,
      );
    }
    const batch = options.batchSize ?? Math.min(this.settings.maxConcurrency, JETSTREAM_DEFAULTS.maxBatchSize);
    this.pullClosed = deferred<void>();
    this.consumed = await (await jetstream(nc).consumers.get(stream, consumer)).consume({ max_messages: batch, expires: PULL_EXPIRES_MS });
    this.intake = this.consume(this.consumed, this.stopping.signal);
    void this.watch(this.consumed, `${stream}/${consumer}`);
  }

  /** Hands each message to the server once a handler slot is free, so at most a batch waits here. */
  private async consume(messages: ConsumerMessages, stopping: AbortSignal): Promise<void> {
    try {
      for await (const message of messages) {
        const holdsSlot = await this.slots.acquire(stopping);
        this.accept(this.inbound(message), { holdsSlot }); // closing: handed back at once
      }
    } catch (err) {
      if (!this.closing) {
        this.logger.error(`JetStreamServer stopped consuming: ${describeError(err).message}`);
        this.emitError(err, this.options.stream);
      }
    }
  }

  /** Reports what the library tells about the consumer (deleted, not found, heartbeats missed). */
  private async watch(messages: ConsumerMessages, source: string): Promise<void> {
    for await (const note of messages.status()) {
      if (note.type === 'consumer_deleted' || note.type === 'consumer_not_found' || note.type === 'stream_not_found' || note.type === 'heartbeats_missed') {
        this.logs.log(
          'error',
          `consumer:${note.type}`,
          () => `JetStreamServer: ${note.type.replace(/_/g, ' ')} (${source}); consuming resumes when it is back`,
        );
        this.emitError(new TransportError(note.type.toUpperCase(), `JetStreamServer: ${note.type} (${source})`), source);
      }
    }
  }

  protected async stopIntake(): Promise<void> {
    const requests = this.requestSubscriptions;
    this.requestSubscriptions = [];
    this.deadLetters?.stop();
    // What NATS sent before this point reaches the intake (and is handed back) instead of being
    // dropped with the subscriptions: lost requests would only end in their callers' timeouts,
    // lost events only come back after ack_wait.
    const nc = this.link?.nc;
    if (nc && !nc.isClosed()) {
      await within(Promise.all([nc.flush(), ...requests.map((subscription) => subscription.drain())]), STOP_FLUSH_MS, 'the NATS flush').catch(() => undefined);
    }
    for (const subscription of requests) subscription.unsubscribe();
    this.stopping.abort();
    try {
      // Stops pulling; the messages already here go to release('closing'), which waits for the end below.
      await this.consumed?.close();
      await this.intake;
      // The flush's round trip follows the pull inbox's UNSUB: past it, the NATS server has no
      // interest for the pull request and drops it, so a nak can no longer be redelivered to it.
      if (this.consumed && nc && !nc.isClosed()) await within(nc.flush(), STOP_FLUSH_MS, 'the NATS flush').catch(() => undefined);
    } finally {
      this.pullClosed?.resolve();
      this.consumed = undefined;
      this.intake = undefined;
    }
  }

  /**
   * Core NATS pushes requests as fast as they come: past `MAX_HELD_REQUEST_BYTES` of requests waiting
   * or running, a request is answered at once with an error instead of being held (memory stays
   * bounded, the caller knows at once).
   */
  private onRequest(msg: Msg): void {
    const size = msg.data.byteLength;
    if (this.heldRequestBytes + size <= MAX_HELD_REQUEST_BYTES) return this.accept(this.inbound(msg));
    const id = msg.headers?.get(JetStreamHeaders.ID);
    this.logs.log(
      'warn',
      'overloaded',
      () => `JetStreamServer is overloaded (${MAX_HELD_REQUEST_BYTES} bytes of requests in progress): request ${id ?? '?'} on ${msg.subject} is refused`,
    );
    if (!id || !msg.reply) return;
    const err = { status: 'error', message: 'The server is overloaded; try again later.' };
    const body = this.encode(this.serializer.serialize({ id, err, isDisposed: true }));
    void this.sendReply(this.inbound(msg), msg.reply, { id, seq: 0, final: true, body }).catch((e) => this.emitError(e, msg.subject));
  }

  private requestRoutes(): string[] {
    return [...this.messageHandlers].filter(([, handler]) => !handler.isEventHandler).map(([route]) => route);
  }

  private eventRoutes(): string[] {
    return [...this.messageHandlers].filter(([, handler]) => handler.isEventHandler).map(([route]) => route);
  }

  private inbound(message: Message): Inbound<Message> {
    const attributes = headerRecord(message.headers);
    if (fromStream(message)) {
      delete attributes[JetStreamHeaders.REPLY_TO]; // a stream holds events: nothing there is answered
      const { stream, streamSequence, deliveryCount } = message.info;
      return {
        message,
        messageId: `${stream}#${streamSequence}`,
        source: `${stream}/${this.options.consumer}`,
        body: bodyForCodec(this.settings.codec.binary, message.data),
        attributes,
        key: this.options.ordering === 'subject' ? message.subject : undefined,
        attempt: deliveryCount,
        defaultPattern: this.options.defaultPattern ?? message.subject,
      };
    }
    if (message.reply) attributes[JetStreamHeaders.REPLY_TO] = message.reply;
    else delete attributes[JetStreamHeaders.REPLY_TO];
    return {
      message,
      messageId: attributes[JetStreamHeaders.ID] ?? '-',
      source: message.subject,
      body: bodyForCodec(this.settings.codec.binary, message.data),
      attributes,
      defaultPattern: this.options.defaultPattern ?? message.subject.slice(this.requestPrefix.length + 1),
    };
  }

  protected createContext(inbound: Inbound<Message>, route: string, metadata: PacketMetadata | undefined, settlement?: ManualSettlement): JetStreamContext {
    return new JetStreamContext([inbound.message, route, metadata, settlement]);
  }

  // ---- settle (events; a request has nothing to settle: its reply is its outcome) ----

  /** Keeps an event from redelivery while it is held; counts the bytes of a request held. */
  protected override lease(inbound: Inbound<Message>): (() => void) | undefined {
    const { message } = inbound;
    if (fromStream(message)) return this.leases.keep(message);
    let size = message.data.byteLength;
    this.heldRequestBytes += size;
    return () => {
      this.heldRequestBytes -= size;
      size = 0; // the server may stop a lease twice (manual settlement, then the end of the handler)
    };
  }

  protected async ack(inbound: Inbound<Message>): Promise<void> {
    if (fromStream(inbound.message)) inbound.message.ack();
  }

  protected async retry(inbound: Inbound<Message>, delaySeconds: number | undefined): Promise<void> {
    if (fromStream(inbound.message)) nak(inbound.message, (delaySeconds ?? 0) * 1000);
  }

  protected async release(inbound: Inbound<Message>, reason: ReleaseReason): Promise<void> {
    const { message } = inbound;
    if (fromStream(message)) {
      // Naked while this server's pull request is open, a message is redelivered into it (NATS 2.9
      // keeps it until it expires) and lost to this closing server until ack_wait: wait until it is gone.
      if (reason === 'closing') await this.pullClosed?.promise;
      // Behind a failed message of its subject: it comes back with it, as late as it does.
      nak(message, reason === 'order' ? (this.retryDelay(inbound) ?? 0) * 1000 : 0);
      return;
    }
    // A request not started before close: to another server of the queue group (or, with none,
    // the caller gets NATS's no-responders at once). This server no longer subscribes.
    for (const subscription of this.requestSubscriptions) subscription.unsubscribe();
    this.link?.nc.publish(message.subject, message.data, { reply: message.reply, headers: message.headers });
  }

  protected override async deadLetter(inbound: Inbound<Message>, error: unknown): Promise<void> {
    const { message } = inbound;
    if (!this.deadLetters) throw new TransportError('NOT_CONNECTED', 'JetStreamServer: not listening');
    const js = fromStream(message);
    await this.deadLetters.publish(
      { subject: message.subject, data: message.data, headers: message.headers, seq: js ? message.seq : undefined, deliveries: inbound.attempt },
      describeError(error).message,
    );
    if (js) message.term();
  }

  protected override describeRetry(_inbound: Inbound<Message>, delaySeconds: number | undefined): string {
    return delaySeconds ? `it is redelivered in ${delaySeconds} s (nak)` : 'it is redelivered at once (nak)';
  }

  // ---- replies ----

  protected override replySize(reply: OutgoingReply): number {
    return messageSize(reply.body, replyHeaders(reply));
  }

  protected async sendReply(_inbound: Inbound<Message>, replyTo: string, reply: OutgoingReply): Promise<void> {
    if (!this.link) throw new TransportError('NOT_CONNECTED', 'JetStreamServer: the connection is closed');
    this.link.nc.publish(replyTo, reply.body, { headers: replyHeaders(reply) });
  }

  /** Acks and replies are buffered publishes: `closeLink` flushes them (bounded) before closing. */
  protected override async releaseResources(): Promise<void> {
    this.leases.stop();
    const link = this.link;
    this.link = undefined;
    this.deadLetters = undefined;
    await closeLink(link, this.options.connectTimeout ?? JETSTREAM_DEFAULTS.connectTimeout);
  }
}

/**
 * Naks with a delay of at least 1 ms. A plain `-NAK` (no delay) was seen on NATS 2.9 to redeliver
 * the message at once into a pull request of the consumer that had just closed (lost until
 * `ack_wait`) and to deliver another message twice; a delayed nak goes through the redelivery timer
 * and reaches a live pull request.
 */
function nak(message: JsMsg, delayMs: number): void {
  message.nak(Math.max(1, Math.round(delayMs)));
}

function replyHeaders(reply: OutgoingReply) {
  return buildHeaders(undefined, { [JetStreamHeaders.ID]: reply.id, [JetStreamHeaders.SEQ]: String(reply.seq) });
}
