import { EventEmitter } from 'node:events';
import { type JetStreamClient as NatsJetStreamClient, jetstream } from '@nats-io/jetstream';
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { ReadPacket, WritePacket } from '@nestjs/microservices';
import {
  BrokeredClient,
  type Codec,
  ConnectionClosedError,
  describeError,
  InvalidOptionError,
  messageOf,
  PayloadTooLargeError,
  resolveCodec,
  type TraceFields,
  TransportError,
  TransportStatus,
} from '@nest-transports/shared';
import { closeLink, followStatus, type NatsLink, openLink, withReconnectDefaults } from './connection.js';
import { JETSTREAM_DEFAULTS, type JetStreamClientOptions, validateClientOptions } from './options.js';
import { type JetStreamRecordOptions, unwrapRecord } from './record.js';
import { buildHeaders, isValidSubject, JetStreamHeaders, messageSize, requestSubject } from './wire.js';

/** Events of the connection, for `client.on()`: each NATS status by its type, and `error`. */
export type JetStreamClientEvents = {
  error: (err: unknown) => void;
  disconnect: (status: { server: string }) => void;
  reconnect: (status: { server: string }) => void;
  reconnecting: () => void;
  close: () => void;
};

const RECORD = Symbol('jetstream-record-options');
type OutgoingPacket = ReadPacket & { [RECORD]?: JetStreamRecordOptions };

/** NATS's status code for "nothing subscribes to the subject of this request". */
const NO_RESPONDERS = '503';

/**
 * Nest `ClientProxy` over NATS JetStream. `emit()` publishes to a stream and resolves with the
 * stream's acknowledgement (the event is stored); `send()` is a core NATS request to
 * `${requestPrefix}.${route}` with this client's own reply subject, so replies (and every value of
 * a streamed response) come back to this client alone and no stream ever stores a request.
 */
export class JetStreamClient extends BrokeredClient {
  private readonly codec: Codec;
  private readonly events = new EventEmitter();
  private readonly requestPrefix: string;
  private link?: NatsLink;
  private js?: NatsJetStreamClient;
  private inbox?: string;
  private replies?: Subscription;

  constructor(private readonly options: JetStreamClientOptions = {}) {
    validateClientOptions(options);
    super({
      transport: 'JetStreamClient',
      requestTimeout: options.requestTimeout ?? JETSTREAM_DEFAULTS.requestTimeout,
      // Learnt from the NATS server on connect().
      maxMessageBytes: options.maxMessageBytes ?? Number.MAX_SAFE_INTEGER,
    });
    this.codec = resolveCodec('JetStreamClient', options.codec);
    this.requestPrefix = options.requestPrefix ?? JETSTREAM_DEFAULTS.requestPrefix;
    this.initializeSerializer(options as never);
    this.initializeDeserializer(options as never);
    this.events.on('error', () => undefined); // an 'error' nobody listens to must not throw
  }

  /** Connects, checks JetStream, and subscribes this client's reply subject; `send`/`emit` call it too. */
  connect(): Promise<void> {
    return this.connectOnce(
      () => this.open(),
      () => this.teardown(),
    );
  }

  close(): Promise<void> {
    return this.closeOnce(() => this.teardown());
  }

  /** The `NatsConnection`. */
  unwrap<T = NatsConnection>(): T {
    if (!this.link) throw new TransportError('NOT_CONNECTED', 'JetStreamClient: not connected. Call connect() (or send/emit) first.');
    return this.link.nc as T;
  }

  /** Listens to the connection's status events (`disconnect`, `reconnect`, `reconnecting`, `error`, …). */
  override on<K extends keyof JetStreamClientEvents>(event: K, callback: JetStreamClientEvents[K]): void {
    this.events.on(event, callback as (...args: unknown[]) => void);
  }

  protected override publish(partial: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    return super.publish(withRecord(partial), callback);
  }

  protected override dispatchEvent<T = unknown>(partial: ReadPacket): Promise<T> {
    return super.dispatchEvent(withRecord(partial));
  }

  protected encode(serialized: unknown): Buffer | string {
    return this.codec.encode(serialized);
  }

  /** Health details: a round trip to the NATS server, and the reply subscription still open. */
  protected override async healthDetails(): Promise<Record<string, unknown>> {
    const { nc } = this.connected();
    const rtt = await nc.rtt();
    if (!this.replies || this.replies.isClosed()) throw new ConnectionClosedError('JetStreamClient', 'the reply subscription is closed');
    return { rttMs: rtt, replySubject: `${this.inbox}.*` };
  }

  /** Requests go to `<requestPrefix>.<route>` (core NATS), events to their stream subject. */
  protected override traceTarget(route: string, request: boolean): { system: string; destination: string } {
    return { system: 'nats', destination: request ? requestSubject(this.requestPrefix, route) : this.eventSubject(route) };
  }

  protected async publishRequest(packet: OutgoingPacket & { id: string }, body: Buffer | string, trace?: TraceFields): Promise<void> {
    const { nc } = this.connected();
    const route = String(packet.pattern);
    const subject = requestSubject(this.requestPrefix, route);
    if (!isValidSubject(subject)) throw invalidSubject(route, subject, 'requests');
    const headers = buildHeaders(packet[RECORD]?.headers, { ...trace, [JetStreamHeaders.PATTERN]: route, [JetStreamHeaders.ID]: packet.id });
    this.checkSize(body, headers);
    nc.publish(subject, body, { reply: `${this.inbox}.${packet.id}`, headers });
  }

  protected async publishEvent(packet: OutgoingPacket, body: Buffer | string, trace?: TraceFields): Promise<void> {
    const { js } = this.connected();
    const route = String(packet.pattern);
    const record = packet[RECORD];
    const subject = record?.subject ?? this.eventSubject(route);
    if (!isValidSubject(subject)) throw invalidSubject(route, subject, 'events');
    const headers = buildHeaders(record?.headers, { ...trace, [JetStreamHeaders.PATTERN]: route });
    this.checkSize(body, headers);
    const timeout = this.options.publishTimeout ?? JETSTREAM_DEFAULTS.publishTimeout;
    try {
      await js.publish(subject, body, { headers, timeout, ...(record?.messageId ? { msgID: record.messageId } : {}) });
    } catch (err) {
      throw explainPublishError(subject, timeout, err);
    }
  }

  private eventSubject(route: string): string {
    const option = this.options.subject;
    if (option === undefined) return route;
    return typeof option === 'function' ? option(route) : option;
  }

  private checkSize(body: Buffer | string, headers: ReturnType<typeof buildHeaders>): void {
    const size = messageSize(body, headers);
    if (size > this.settings.maxMessageBytes) throw new PayloadTooLargeError('JetStreamClient', size, this.settings.maxMessageBytes);
  }

  private connected(): { nc: NatsConnection; js: NatsJetStreamClient } {
    if (!this.link || !this.js) throw new ConnectionClosedError('JetStreamClient', 'the client is closed');
    return { nc: this.link.nc, js: this.js };
  }

  private async open(): Promise<void> {
    const link = await openLink('JetStreamClient', withReconnectDefaults(this.options));
    this.link = link;
    const limit = link.nc.info?.max_payload ?? Number.MAX_SAFE_INTEGER;
    if (this.options.maxMessageBytes !== undefined && this.options.maxMessageBytes > limit) {
      throw new InvalidOptionError(
        'JetStreamClient',
        'maxMessageBytes',
        `is ${this.options.maxMessageBytes}, over the NATS server's max_payload of ${limit}`,
        'Lower it, or raise max_payload in the NATS server configuration.',
      );
    }
    this.settings.maxMessageBytes = this.options.maxMessageBytes ?? limit;
    this.js = jetstream(link.nc, { timeout: this.options.publishTimeout ?? JETSTREAM_DEFAULTS.publishTimeout });
    this.inbox = createInbox(this.options.connectionOptions?.inboxPrefix);
    this.replies = link.nc.subscribe(`${this.inbox}.*`, { callback: (err, msg) => this.onReply(err, msg) });
    followStatus(link.nc, (status) => this.onStatus(link, status), this.events);
    this._status$.next(TransportStatus.CONNECTED);
  }

  private onStatus(link: NatsLink, status: TransportStatus): void {
    if (this.link !== link) return;
    // Core NATS keeps nothing for a connection that is gone: a reply sent meanwhile is lost.
    if (status === TransportStatus.DISCONNECTED) this.failPending('the connection to NATS dropped before the reply arrived');
    this._status$.next(status);
  }

  private onReply(err: Error | null, msg: Msg): void {
    if (err) {
      this.events.emit('error', err);
      return;
    }
    const id = msg.subject.slice(this.inbox!.length + 1);
    if (msg.headers?.code === Number(NO_RESPONDERS) || (msg.data.length === 0 && msg.headers?.status === NO_RESPONDERS)) {
      this.pending.deliver(id, {
        err: new TransportError(
          'NO_RESPONDERS',
          `JetStreamClient: no server subscribes to the request subject (${this.requestPrefix}.<pattern>): no server with a handler for this pattern is running, or the servers use another requestPrefix.`,
        ),
        isDisposed: true,
      });
      return;
    }
    this.handleReply(this.codec.decode(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength))).catch((e) =>
      this.logger.warn(`JetStreamClient dropped a reply it could not read: ${describeError(e).message}`),
    );
  }

  private async teardown(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    this.js = undefined;
    this.replies?.unsubscribe();
    this.replies = undefined;
    await closeLink(link, this.options.connectTimeout ?? JETSTREAM_DEFAULTS.connectTimeout);
  }
}

function withRecord(partial: ReadPacket): OutgoingPacket {
  const { data, options } = unwrapRecord(partial.data);
  return options ? { ...partial, data, [RECORD]: options } : partial;
}

function invalidSubject(route: string, subject: string, what: 'events' | 'requests'): TransportError {
  const fix =
    what === 'events'
      ? 'Use a pattern that is a valid NATS subject, or map patterns to subjects with the client option subject (or JetStreamRecordBuilder#setSubject).'
      : 'Use a pattern without whitespace, empty tokens or wildcard tokens.';
  return new TransportError(
    'INVALID_SUBJECT',
    `JetStreamClient: the pattern ${JSON.stringify(route)} gives the subject ${JSON.stringify(subject)} for ${what}, which NATS does not accept. ${fix}`,
  );
}

function explainPublishError(subject: string, timeout: number, err: unknown): Error {
  const name = (err as { name?: string } | null)?.name;
  const message = messageOf(err) ?? String(err);
  if (name === 'JetStreamNotEnabled' || /no responders/i.test(message)) {
    return new TransportError(
      'NO_STREAM',
      `JetStreamClient: no stream captures the subject "${subject}". Create a stream with this subject, or publish on a subject one captures (client option subject).`,
      {
        cause: err,
      },
    );
  }
  if (name === 'TimeoutError' || /timeout/i.test(message)) {
    return new TransportError(
      'PUBLISH_TIMEOUT',
      `JetStreamClient: the stream did not acknowledge the event on "${subject}" within ${timeout} ms (publishTimeout); it may or may not be stored.`,
      {
        cause: err,
      },
    );
  }
  return err instanceof Error ? err : new Error(message);
}
