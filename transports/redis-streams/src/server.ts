import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  BrokeredServer,
  describeError,
  type Inbound,
  type ManualSettlement,
  type OutgoingReply,
  type PacketMetadata,
  PullLoop,
  type ReleaseReason,
  TransportError,
  within,
  withServerDefaults,
} from '@nest-transports/shared';
import { ensureGroup, groupBacklog, removeIdleConsumer } from './admin.js';
import { ClaimRenewal } from './claims.js';
import { callBuffer, closeLink, followStatus, openLink, type RedisLink, replyError } from './connection.js';
import { RedisStreamsContext } from './context.js';
import { type DeadLetterSettings, deadLetter } from './dead-letter.js';
import { REDIS_STREAMS_DEFAULTS, type RedisStreamsServerOptions, validateServerOptions } from './options.js';
import { bodyForCodec, entriesOfRead, entrySize, parseEntries, RedisStreamsFields, type StreamEntry } from './wire.js';

/** Identifies the Redis Streams transport (hybrid apps: `@MessagePattern('x', REDIS_STREAMS_TRANSPORT)`). */
export const REDIS_STREAMS_TRANSPORT = Symbol('REDIS_STREAMS_TRANSPORT');

/** Events for `server.on()`: ioredis's connection events, and `error` for what the server survives. */
export type RedisStreamsServerEvents = {
  error: (err: unknown, source?: string) => void;
  ready: () => void;
  close: () => void;
  reconnecting: (delayMs: number) => void;
};

/** Longest `XREADGROUP … BLOCK`: a server also looks for entries to take over between reads. */
const MAX_BLOCK_MS = 1000;

/**
 * Nest microservice strategy over Redis Streams, on the shared brokered server: this file is the
 * intake (`XREADGROUP` on a connection of its own, `XAUTOCLAIM` of entries idle past `claimIdle`),
 * the settle calls (`XACK`; `XCLAIM … IDLE` to hand an entry out again after a delay; the
 * dead-letter stream) and the replies (`XADD` to the client's reply stream).
 */
export class RedisStreamsServer extends BrokeredServer<StreamEntry, RedisStreamsServerEvents> {
  override transportId = REDIS_STREAMS_TRANSPORT;

  private commands?: RedisLink;
  private reader?: RedisLink;
  private readerId?: number;
  private loop?: PullLoop<StreamEntry>;
  private claims?: ClaimRenewal;
  private sweepCursor = '0-0';
  private nextSweep = 0;
  private readonly stream: string;
  private readonly group: string;
  private readonly consumer: string;
  private readonly claimIdle: number;
  private readonly deadLetters?: DeadLetterSettings;
  private readonly batchSize: number;

  constructor(private readonly options: RedisStreamsServerOptions) {
    validateServerOptions(options ?? ({} as RedisStreamsServerOptions));
    const deadLetterStream = options.deadLetterStream ?? `${options.stream}${REDIS_STREAMS_DEFAULTS.deadLetterSuffix}`;
    super({
      ...withServerDefaults('RedisStreamsServer', options, REDIS_STREAMS_DEFAULTS),
      messagingSystem: 'redis',
      maxReplyBytes: options.maxMessageBytes ?? REDIS_STREAMS_DEFAULTS.maxMessageBytes,
      maxDeliveries: options.maxDeliveries ?? REDIS_STREAMS_DEFAULTS.maxDeliveries,
      deadLetters: deadLetterStream !== false,
    });
    this.stream = options.stream;
    this.group = options.group ?? REDIS_STREAMS_DEFAULTS.group;
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.claimIdle = options.claimIdle ?? REDIS_STREAMS_DEFAULTS.claimIdle;
    this.batchSize = options.batchSize ?? Math.min(this.settings.maxConcurrency, REDIS_STREAMS_DEFAULTS.maxBatchSize);
    if (deadLetterStream !== false) this.deadLetters = { stream: deadLetterStream, group: this.group, maxLen: options.deadLetterMaxLen };
  }

  /** The ioredis client of the server's commands (acks, replies, claims); the reads have a connection of their own. */
  unwrap<T = RedisLink>(): T {
    if (!this.commands) throw new TransportError('NOT_CONNECTED', 'RedisStreamsServer: not listening. Call listen() (or startAllMicroservices()) first.');
    return this.commands as T;
  }

  /** This server's consumer name in its group. */
  get consumerName(): string {
    return this.consumer;
  }

  override on<K extends keyof RedisStreamsServerEvents>(event: K, callback: RedisStreamsServerEvents[K]): void {
    super.on(event, callback);
  }

  /**
   * Health details: the group's backlog from `XINFO GROUPS` — `backlog`, entries not yet delivered to
   * the group (its `lag`, Redis ≥ 7), and `unacked`, delivered but not acknowledged (its `pending`).
   */
  protected override async healthDetails(): Promise<Record<string, unknown>> {
    const { lag, pending, consumers } = await groupBacklog(this.commands!, 'RedisStreamsServer', this.stream, this.group);
    return { group: `${this.stream}/${this.group}`, ...(lag !== undefined && { backlog: lag }), unacked: pending, consumers };
  }

  // ---- intake ----

  protected async startIntake(): Promise<void> {
    const { options } = this;
    this.commands = await openLink(
      'RedisStreamsServer',
      { ...options, redisOptions: { enableAutoPipelining: true, ...options.redisOptions } },
      `nest:${this.consumer}`,
    );
    this.reader = await openLink('RedisStreamsServer', options, `nest:${this.consumer}:reader`);
    followStatus(this.commands, (status) => this._status$.next(status), this.events);
    this.reader.on('error', (err) => this.logs.log('warn', 'reader', () => `RedisStreamsServer: the reading connection failed: ${describeError(err).message}`));
    const timeout = options.connectTimeout ?? REDIS_STREAMS_DEFAULTS.connectTimeout;
    await within(this.ensureGroup(), timeout, `the group "${this.group}" of stream "${this.stream}"`);
    this.readerId = await this.readerClientId();
    this.claims = new ClaimRenewal(
      this.claimIdle,
      async (ids) => ((await this.commands!.call('XCLAIM', this.stream, this.group, this.consumer, '0', ...ids, 'JUSTID')) as unknown[]).length,
      (lost, err) =>
        this.logs.log('warn', 'claims', () =>
          err
            ? `RedisStreamsServer could not renew its claims: ${describeError(err).message}; entries held past claimIdle (${this.claimIdle} ms) may be taken over`
            : `RedisStreamsServer: ${lost} entries held by a handler were taken over by another consumer (held past claimIdle, ${this.claimIdle} ms); they may run twice`,
        ),
    );
    this.sweepCursor = '0-0';
    this.nextSweep = 0;
    this.loop = new PullLoop({
      slots: this.slots,
      batchSize: this.batchSize,
      receive: (max, signal) => this.receive(max, signal),
      onMessages: (entries) => {
        for (const entry of entries) this.take(entry);
      },
      onError: (err) => this.onReceiveError(err),
    });
    this.loop.start();
  }

  protected async stopIntake(): Promise<void> {
    // The read under way is unblocked; what it got is handed back by the server (closing).
    await this.loop?.stop();
    this.loop = undefined;
  }

  private ensureGroup(): Promise<void> {
    const { options } = this;
    const create = options.createGroups ?? REDIS_STREAMS_DEFAULTS.createGroups;
    return ensureGroup(this.commands!, 'RedisStreamsServer', this.stream, this.group, create, options.startId ?? REDIS_STREAMS_DEFAULTS.startId);
  }

  /** The reading connection's id, for `CLIENT UNBLOCK` at close (a cluster has none: its reads end within a second). */
  private async readerClientId(): Promise<number | undefined> {
    if ('nodes' in this.reader!) return undefined;
    return Number(await this.reader!.call('CLIENT', 'ID'));
  }

  /**
   * Entries to take over first (when a sweep is due), else new ones (blocking up to a second). A
   * busy server gets its slots back one handler at a time: the ones freed in the same turn are
   * gathered first, so that it reads in batches rather than one entry per round trip.
   */
  private async receive(max: number, signal: AbortSignal): Promise<StreamEntry[]> {
    let extra = 0;
    if (max < this.batchSize) {
      await new Promise(setImmediate);
      while (max + extra < this.batchSize && this.slots.tryAcquire()) extra++;
    }
    try {
      const entries = await this.read(max + extra, signal);
      // The loop frees the slots of `max` it did not fill; the gathered ones are freed here.
      this.slots.release(entries.length <= max ? extra : max + extra - entries.length);
      return entries;
    } catch (err) {
      this.slots.release(extra);
      throw err;
    }
  }

  private async read(max: number, signal: AbortSignal): Promise<StreamEntry[]> {
    if (Date.now() >= this.nextSweep) {
      const taken = await this.sweep(max);
      if (taken.length > 0) return taken;
    }
    if (signal.aborted) return [];
    const block = Math.max(1, Math.min(MAX_BLOCK_MS, this.nextSweep - Date.now()));
    const unblock = () => void this.unblock();
    signal.addEventListener('abort', unblock, { once: true });
    try {
      const reply = await callBuffer(this.reader!, 'XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', max, 'BLOCK', block, 'STREAMS', this.stream, '>');
      return entriesOfRead(this.stream, reply);
    } finally {
      signal.removeEventListener('abort', unblock);
    }
  }

  private async unblock(): Promise<void> {
    if (this.readerId === undefined || this.commands?.status !== 'ready') return;
    await within(this.commands.call('CLIENT', 'UNBLOCK', this.readerId), 1000, 'CLIENT UNBLOCK').catch(() => this.reader?.disconnect());
  }

  /** `XAUTOCLAIM`: entries idle past `claimIdle` (their consumer died, or a retry delay passed), with their delivery counts. */
  private async sweep(max: number): Promise<StreamEntry[]> {
    const link = this.commands!;
    const [cursor, raw, deleted] = (await callBuffer(
      link,
      'XAUTOCLAIM',
      this.stream,
      this.group,
      this.consumer,
      this.claimIdle,
      this.sweepCursor,
      'COUNT',
      max,
    )) as [Buffer, Parameters<typeof parseEntries>[1], Buffer[] | undefined];
    if (deleted?.length) {
      // Trimmed away (MAXLEN/MINID) while pending: Redis drops them from the group; nothing is left to handle.
      this.logs.log(
        'warn',
        'trimmed',
        () => `RedisStreamsServer: ${deleted.length} pending entries of stream "${this.stream}" were trimmed before they were handled`,
      );
    }
    this.sweepCursor = cursor.toString('utf8');
    const claimInterval = this.options.claimInterval ?? REDIS_STREAMS_DEFAULTS.claimInterval;
    this.nextSweep = this.sweepCursor === '0-0' ? Date.now() + claimInterval : 0;
    const entries = parseEntries(this.stream, raw);
    if (entries.length === 0) return entries;
    const pending = (await link.call('XPENDING', this.stream, this.group, entries[0].id, entries.at(-1)!.id, entries.length, this.consumer)) as Array<
      [string, string, number, number]
    >;
    const counts = new Map(pending.map(([id, , , count]) => [id, Number(count)]));
    for (const entry of entries) entry.attempt = counts.get(entry.id) ?? 1;
    return entries;
  }

  private onReceiveError(err: unknown): void {
    if (this.closing) return;
    const text = replyError(err);
    this.logs.log('error', 'receive', () => `RedisStreamsServer could not read stream "${this.stream}" (group "${this.group}"): ${text}; retrying`);
    this.emitError(err, this.stream);
    // The stream or the group was deleted under the server: create them again when allowed.
    if (/NOGROUP/.test(text) && (this.options.createGroups ?? REDIS_STREAMS_DEFAULTS.createGroups)) void this.ensureGroup().catch(() => undefined);
  }

  /** Hands an entry to the server, unless it is past its deliveries or not an entry of this transport. */
  private take(entry: StreamEntry): void {
    const max = this.settings.maxDeliveries!;
    if (entry.attempt > max && this.deadLetters) {
      // Delivered `max` times and never settled: its consumers died or hung on it.
      return this.refuseEntry(entry, `delivered ${entry.attempt - 1} times without being acknowledged (maxDeliveries ${max}): its consumers crashed or hung`);
    }
    if (entry.body === undefined) return this.refuseEntry(entry, `the entry has no "${RedisStreamsFields.BODY}" field`);
    this.accept(this.inbound(entry), { holdsSlot: true });
  }

  /** Settled by the server without a handler: to the dead-letter stream, else per `onMalformed`. */
  private refuseEntry(entry: StreamEntry, reason: string): void {
    this.slots.release();
    this.refuse(this.inbound(entry), new TransportError('REFUSED', reason));
  }

  private inbound(entry: StreamEntry): Inbound<StreamEntry> {
    const attributes = { ...entry.fields };
    const replyTo = attributes[RedisStreamsFields.REPLY_TO];
    const prefix = this.options.replyPrefix ?? REDIS_STREAMS_DEFAULTS.replyPrefix;
    // A reply is only ever added to a reply stream: an entry cannot make the server write to any other key.
    if (replyTo !== undefined && !replyTo.startsWith(prefix)) delete attributes[RedisStreamsFields.REPLY_TO];
    return {
      message: entry,
      messageId: entry.id,
      source: `${this.stream}/${this.group}`,
      body: bodyForCodec(this.settings.codec.binary, entry.body ?? Buffer.alloc(0)),
      attributes,
      key: this.options.ordering === 'pattern' ? (entry.fields[RedisStreamsFields.PATTERN] ?? '') : undefined,
      attempt: entry.attempt,
      defaultPattern: this.options.defaultPattern,
    };
  }

  protected createContext(
    inbound: Inbound<StreamEntry>,
    route: string,
    metadata: PacketMetadata | undefined,
    settlement?: ManualSettlement,
  ): RedisStreamsContext {
    return new RedisStreamsContext([inbound.message, route, metadata, settlement, this.group]);
  }

  // ---- settle ----

  protected override lease(inbound: Inbound<StreamEntry>): (() => void) | undefined {
    return this.claims?.keep(inbound.message.id);
  }

  protected async ack(inbound: Inbound<StreamEntry>): Promise<void> {
    if (!this.commands) throw new TransportError('NOT_CONNECTED', 'RedisStreamsServer: the connection is closed');
    await this.commands.call('XACK', this.stream, this.group, inbound.message.id);
  }

  /**
   * Redis has no delayed redelivery: the entry stays with this consumer with its idle time set so
   * that it reaches `claimIdle` after the delay, when a sweep of any consumer takes it.
   */
  protected async retry(inbound: Inbound<StreamEntry>, delaySeconds: number | undefined): Promise<void> {
    await this.handBack(inbound.message, (delaySeconds ?? 0) * 1000);
  }

  protected async release(inbound: Inbound<StreamEntry>, reason: ReleaseReason): Promise<void> {
    // Behind a failed entry of its pattern: it comes back with it, as late as it does. Closing: at once, and not counted as a delivery.
    if (reason === 'order') await this.handBack(inbound.message, (this.retryDelay(inbound) ?? 0) * 1000);
    else await this.handBack(inbound.message, 0, inbound.message.attempt - 1);
  }

  private async handBack(entry: StreamEntry, delayMs: number, deliveries?: number): Promise<void> {
    if (!this.commands) throw new TransportError('NOT_CONNECTED', 'RedisStreamsServer: the connection is closed');
    const idle = Math.max(0, this.claimIdle - Math.round(delayMs));
    const count = deliveries === undefined ? [] : ['RETRYCOUNT', Math.max(0, deliveries)];
    await this.commands.call('XCLAIM', this.stream, this.group, this.consumer, '0', entry.id, 'IDLE', idle, ...count, 'JUSTID');
    this.nextSweep = Math.min(this.nextSweep, Date.now() + Math.min(delayMs, this.claimIdle));
  }

  protected override async deadLetter(inbound: Inbound<StreamEntry>, error: unknown): Promise<void> {
    if (!this.commands || !this.deadLetters) throw new TransportError('NOT_CONNECTED', 'RedisStreamsServer: not listening');
    await deadLetter(this.commands, this.deadLetters, inbound.message, describeError(error).message);
  }

  protected override describeRetry(_inbound: Inbound<StreamEntry>, delaySeconds: number | undefined): string {
    const ms = Math.min((delaySeconds ?? 0) * 1000, this.claimIdle);
    return `it is handed out again in ${ms / 1000} s`;
  }

  // ---- replies ----

  protected override replySize(reply: OutgoingReply): number {
    return entrySize(replyFields(reply));
  }

  /** Adds the reply to the client's reply stream, never creating it (`NOMKSTREAM`): a client that is gone gets nothing. */
  protected async sendReply(_inbound: Inbound<StreamEntry>, replyTo: string, reply: OutgoingReply): Promise<void> {
    if (!this.commands) throw new TransportError('NOT_CONNECTED', 'RedisStreamsServer: the connection is closed');
    const maxLen = this.options.replyMaxLen ?? REDIS_STREAMS_DEFAULTS.replyMaxLen;
    const id = await this.commands.call('XADD', replyTo, 'NOMKSTREAM', 'MAXLEN', '~', maxLen, '*', ...replyFields(reply));
    if (id === null) throw new TransportError('REPLY_STREAM_GONE', `RedisStreamsServer: the reply stream ${replyTo} is gone (its client closed or died)`);
  }

  protected override async releaseResources(): Promise<void> {
    this.claims?.stop();
    const { commands, reader } = this;
    this.commands = this.reader = undefined;
    reader?.disconnect();
    if (commands?.status === 'ready') await removeIdleConsumer(commands, this.stream, this.group, this.consumer).catch(() => undefined);
    await closeLink(commands, this.options.connectTimeout ?? REDIS_STREAMS_DEFAULTS.connectTimeout);
  }
}

function replyFields(reply: OutgoingReply): Array<string | Buffer> {
  return [RedisStreamsFields.ID, reply.id, RedisStreamsFields.SEQ, String(reply.seq), RedisStreamsFields.BODY, reply.body];
}
