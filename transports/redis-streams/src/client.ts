import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ReadPacket } from '@nestjs/microservices';
import {
  BrokeredClient,
  backoffDelay,
  type Codec,
  ConnectionClosedError,
  describeError,
  LogThrottle,
  PayloadTooLargeError,
  resolveCodec,
  sleep,
  TransportError,
  type TraceFields,
  TransportStatus,
} from '@nest-transports/shared';
import { callBuffer, closeLink, followStatus, openLink, type RedisLink } from './connection.js';
import { REDIS_STREAMS_DEFAULTS, type RedisStreamsClientOptions, validateClientOptions } from './options.js';
import { RedisStreamsRecord, type RedisStreamsRecordOptions } from './record.js';
import { entriesOfRead, entrySize, fieldArgs, RedisStreamsFields, trimArgs } from './wire.js';

/** Events of the connection, for `client.on()`: ioredis's `ready`, `close`, `reconnecting`, and `error`. */
export type RedisStreamsClientEvents = {
  error: (err: unknown) => void;
  ready: () => void;
  close: () => void;
  reconnecting: (delayMs: number) => void;
};

/** Replies read per `XREAD`, and how many are read before the reply stream is trimmed behind them. */
const REPLY_BATCH = 256;
const REPLY_BLOCK_MS = 5000;

/**
 * Nest `ClientProxy` over Redis Streams. `emit()` adds an entry to the service's stream and
 * resolves once Redis stored it; `send()` adds a request entry naming this client's own reply
 * stream, which the client reads (`XREAD`) on a connection of its own, trims behind itself, keeps
 * alive with an expiry it renews (so a client that dies leaves nothing behind) and deletes on close.
 */
export class RedisStreamsClient extends BrokeredClient {
  private readonly codec: Codec;
  private readonly events = new EventEmitter();
  private readonly logs = new LogThrottle(this.logger);
  private commands?: RedisLink;
  private reader?: RedisLink;
  private replyStream?: string;
  private replies?: Promise<void>;
  private renewal?: NodeJS.Timeout;
  private stopping = new AbortController();

  constructor(private readonly options: RedisStreamsClientOptions) {
    validateClientOptions(options ?? ({} as RedisStreamsClientOptions));
    super({
      transport: 'RedisStreamsClient',
      requestTimeout: options.requestTimeout ?? REDIS_STREAMS_DEFAULTS.requestTimeout,
      maxMessageBytes: options.maxMessageBytes ?? REDIS_STREAMS_DEFAULTS.maxMessageBytes,
      record: RedisStreamsRecord,
    });
    this.codec = resolveCodec('RedisStreamsClient', options.codec);
    this.initializeSerializer(options as never);
    this.initializeDeserializer(options as never);
    this.events.on('error', () => undefined); // an 'error' nobody listens to must not throw
  }

  /** Connects, creates this client's reply stream and starts reading it; `send`/`emit` call it too. */
  connect(): Promise<void> {
    return this.connectOnce(
      () => this.open(),
      () => this.teardown(),
    );
  }

  close(): Promise<void> {
    return this.closeOnce(() => this.teardown());
  }

  /** The ioredis client of the client's commands (`XADD`); replies are read on a connection of their own. */
  unwrap<T = RedisLink>(): T {
    if (!this.commands) throw new TransportError('NOT_CONNECTED', 'RedisStreamsClient: not connected. Call connect() (or send/emit) first.');
    return this.commands as T;
  }

  /** This client's reply stream (set once connected). */
  get replyStreamName(): string | undefined {
    return this.replyStream;
  }

  override on<K extends keyof RedisStreamsClientEvents>(event: K, callback: RedisStreamsClientEvents[K]): void {
    this.events.on(event, callback as (...args: unknown[]) => void);
  }

  protected encode(serialized: unknown): Buffer | string {
    return this.codec.encode(serialized);
  }

  protected override traceTarget(route: string): { system: string; destination: string } {
    return { system: 'redis', destination: this.streamOf(route) };
  }

  protected async publishRequest(
    packet: ReadPacket & { id: string },
    body: Buffer | string,
    trace?: TraceFields,
    record?: RedisStreamsRecordOptions,
  ): Promise<void> {
    const route = String(packet.pattern);
    await this.add(record, body, {
      ...trace,
      [RedisStreamsFields.PATTERN]: route,
      [RedisStreamsFields.ID]: packet.id,
      [RedisStreamsFields.REPLY_TO]: this.replyStream!,
    });
  }

  protected async publishEvent(packet: ReadPacket, body: Buffer | string, trace?: TraceFields, record?: RedisStreamsRecordOptions): Promise<void> {
    await this.add(record, body, { ...trace, [RedisStreamsFields.PATTERN]: String(packet.pattern) });
  }

  private async add(record: RedisStreamsRecordOptions | undefined, body: Buffer | string, own: Record<string, string>): Promise<void> {
    const commands = this.commands;
    if (!commands) throw new ConnectionClosedError('RedisStreamsClient', 'the client is closed');
    const fields = fieldArgs(record?.fields, own, body);
    const size = entrySize(fields);
    if (size > this.settings.maxMessageBytes) throw new PayloadTooLargeError('RedisStreamsClient', size, this.settings.maxMessageBytes);
    await commands.call('XADD', record?.stream ?? this.streamOf(own[RedisStreamsFields.PATTERN]), ...trimArgs(this.options), '*', ...fields);
  }

  private streamOf(route: string): string {
    const option = this.options.stream;
    return typeof option === 'function' ? option(route) : option;
  }

  private async open(): Promise<void> {
    const { options } = this;
    this.stopping = new AbortController();
    const name = `nest:client:${randomUUID().slice(0, 8)}`;
    this.commands = await openLink('RedisStreamsClient', { ...options, redisOptions: { enableAutoPipelining: true, ...options.redisOptions } }, name);
    this.reader = await openLink('RedisStreamsClient', options, `${name}:replies`);
    this.replyStream = `${options.replyPrefix ?? REDIS_STREAMS_DEFAULTS.replyPrefix}${randomUUID()}`;
    await this.keepReplyStream();
    const ttl = options.replyTtl ?? REDIS_STREAMS_DEFAULTS.replyTtl;
    this.renewal = setInterval(() => void this.keepReplyStream().catch((err) => this.events.emit('error', err)), Math.floor(ttl / 3)).unref();
    followStatus(this.commands, (status) => this._status$.next(status), this.events);
    this.replies = this.readReplies(this.reader, this.replyStream, this.stopping.signal);
    this._status$.next(TransportStatus.CONNECTED);
  }

  /** Renews the reply stream's expiry; creates it (empty) when it is missing (first connect, or lost in an outage longer than `replyTtl`). */
  private async keepReplyStream(): Promise<void> {
    const key = this.replyStream!;
    const commands = this.commands!;
    const ttl = this.options.replyTtl ?? REDIS_STREAMS_DEFAULTS.replyTtl;
    if (Number(await commands.call('PEXPIRE', key, ttl)) === 1) return;
    await commands.call('XADD', key, 'MAXLEN', '0', '*', RedisStreamsFields.BODY, '');
    await commands.call('PEXPIRE', key, ttl);
  }

  /** Reads the reply stream until the client closes; trims what it has read. */
  private async readReplies(reader: RedisLink, key: string, stopping: AbortSignal): Promise<void> {
    let lastId = '0-0';
    let unTrimmed = 0;
    let failures = 0;
    while (!stopping.aborted) {
      let reply: unknown;
      try {
        reply = await callBuffer(reader, 'XREAD', 'COUNT', REPLY_BATCH, 'BLOCK', REPLY_BLOCK_MS, 'STREAMS', key, lastId);
        failures = 0;
      } catch (err) {
        if (stopping.aborted) break;
        this.logs.log('warn', 'replies', () => `RedisStreamsClient could not read its reply stream ${key}: ${describeError(err).message}; retrying`);
        this.events.emit('error', err);
        await sleep(backoffDelay(failures++, { initialDelay: 100, maxDelay: 5000 }), stopping);
        continue;
      }
      const entries = entriesOfRead(key, reply);
      for (const entry of entries) {
        lastId = entry.id;
        if (!entry.body?.byteLength) continue;
        try {
          const decoded = this.codec.decode(this.codec.binary ? entry.body : entry.body.toString('utf8'));
          await this.acceptReply(decoded, entry.fields[RedisStreamsFields.ID], entry.fields[RedisStreamsFields.SEQ]);
        } catch (err) {
          this.logs.log('warn', 'reply', () => `RedisStreamsClient dropped a reply it could not read: ${describeError(err).message}`);
        }
      }
      unTrimmed += entries.length;
      if (unTrimmed >= REPLY_BATCH || (unTrimmed > 0 && this.pending.size === 0)) {
        unTrimmed = 0;
        void this.commands?.call('XTRIM', key, 'MINID', lastId).catch(() => undefined);
      }
    }
  }

  private async teardown(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.renewal);
    const { commands, reader, replyStream } = this;
    this.commands = this.reader = undefined;
    reader?.disconnect(); // ends the blocking XREAD
    await this.replies;
    this.replies = undefined;
    if (replyStream && commands?.status === 'ready') await commands.call('DEL', replyStream).catch(() => undefined);
    await closeLink(commands, this.options.connectTimeout ?? REDIS_STREAMS_DEFAULTS.connectTimeout);
  }
}
