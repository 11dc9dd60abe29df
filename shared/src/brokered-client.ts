import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { CorrelationTable } from './correlation.js';
import { ConnectionClosedError, PayloadTooLargeError } from './errors.js';
import { isResponsePacket } from './packets.js';
import { checkHealth, HEALTH_TIMEOUT_MS, type HealthIndicatorResult, type HealthOptions, healthKey } from './health.js';
import { ReplySequencer } from './reply-sequencer.js';
import { TransportStatus } from './status.js';
import { type MessageSpan, startSendSpan, type TraceFields } from './tracing/spans.js';

export interface BrokeredClientSettings {
  /** Name used in errors and logs, e.g. "SqsClient". */
  transport: string;
  /** Default per-request timeout in ms; 0 = none (use rxjs `timeout()` per call). */
  requestTimeout: number;
  /** Largest encoded message the backend accepts, in bytes. */
  maxMessageBytes: number;
  /** The transport's record class (data plus per-message options): the options are taken off the data and passed to `publishRequest`/`publishEvent`. */
  record?: new (
    ...args: never[]
  ) => { readonly data: unknown; options?: unknown };
}

/**
 * Request-reply over a broker: each client owns its reply destination (a queue, a
 * subscription), so several client replicas never consume each other's replies. Requests
 * are correlated by id; a failed publish fails its caller at once instead of leaving it
 * waiting; replies for unknown ids (late, unsubscribed) are dropped.
 *
 * A subclass provides the broker calls: `connect()` (creates the reply destination and
 * starts consuming it, calling `handleReply`), `publishRequest`, `publishEvent`, `close()`.
 */
export abstract class BrokeredClient extends ClientProxy {
  protected readonly logger = new Logger(this.constructor.name);
  protected readonly pending = new CorrelationTable();
  private readonly sequencer = new ReplySequencer<unknown>();
  private opening?: Promise<void>;

  protected constructor(protected readonly settings: BrokeredClientSettings) {
    super();
  }

  /**
   * Sends a serialized request; `replyTo` is filled in by the subclass. `trace` holds the W3C
   * trace fields to carry in the message's headers/attributes (absent when tracing is off);
   * `recordOptions` the options of the transport's record (`settings.record`), when the data was one.
   */
  protected abstract publishRequest(packet: ReadPacket & { id: string }, body: Buffer | string, trace?: TraceFields, recordOptions?: unknown): Promise<void>;
  protected abstract publishEvent(packet: ReadPacket, body: Buffer | string, trace?: TraceFields, recordOptions?: unknown): Promise<void>;
  /** Turns the serializer's output into the bytes the broker carries. */
  protected abstract encode(serialized: unknown): Buffer | string;

  /**
   * A `@nestjs/terminus` indicator: connects (creating the reply destination, as the first `send()`
   * would), then checks the destination and the reply destination with the backend: `up` with what
   * it tells, else `down` with the reason, within `timeoutMs`. Never rejects.
   */
  health<Key extends string = string>(options: HealthOptions<Key> = {}): Promise<HealthIndicatorResult<Key>> {
    const key = (options.key ?? healthKey(this.settings.transport)) as Key;
    return checkHealth(key, options.timeoutMs ?? HEALTH_TIMEOUT_MS, async (signal) => {
      await this.connect();
      return { ...(await this.healthDetails(signal)), pending: this.pending.size };
    });
  }

  /** What the backend tells about the destination and the reply destination; throws when either is unusable. */
  protected async healthDetails(_signal: AbortSignal): Promise<Record<string, unknown>> {
    return {};
  }

  /** `messaging.system` and `messaging.destination.name` of the spans of a message to `route`. */
  protected traceTarget(_route: string, _request: boolean): { system: string; destination: string } {
    return { system: this.settings.transport, destination: this.settings.transport };
  }

  protected publish(partial: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const { data, options } = this.splitRecord(partial.data);
    const packet = this.assignPacketId({ ...partial, data, pattern: this.normalizePattern(partial.pattern) });
    const span = startSendSpan({ ...this.traceTarget(String(packet.pattern), true), pattern: String(packet.pattern), request: true, correlationId: packet.id });
    const deliver = span ? tracedCallback(span, callback) : callback;
    let body: Buffer | string;
    try {
      body = this.encode(this.serializer.serialize(packet));
      this.assertSize(body);
    } catch (err) {
      deliver({ err, isDisposed: true });
      return () => undefined;
    }
    const cleanup = this.pending.add(packet.id, deliver, this.timeoutFor(packet.pattern));
    this.publishRequest(packet, body, span?.fields, options).catch((err) => {
      if (this.pending.has(packet.id)) this.pending.deliver(packet.id, { err, isDisposed: true });
    });
    if (!span) return cleanup;
    return () => {
      cleanup();
      span.end(); // unsubscribed before the last reply
    };
  }

  protected async dispatchEvent<T = unknown>(partial: ReadPacket): Promise<T> {
    const { data, options } = this.splitRecord(partial.data);
    const packet = { ...partial, data, pattern: this.normalizePattern(partial.pattern) };
    const span = startSendSpan({ ...this.traceTarget(String(packet.pattern), false), pattern: String(packet.pattern), request: false });
    try {
      const body = this.encode(this.serializer.serialize(packet));
      this.assertSize(body);
      await this.publishEvent(packet, body, span?.fields, options);
    } catch (err) {
      span?.fail(err);
      throw err;
    } finally {
      span?.end();
    }
    return undefined as T;
  }

  /**
   * The reply intake: feeds a decoded reply taken from the reply destination, with the `nest-id`
   * and `nest-seq` attributes the server numbered it with. Numbered replies are released in order
   * (brokers without ordering may reorder or repeat them); replies nobody waits for are dropped.
   */
  protected async acceptReply(decoded: unknown, id: string | undefined, seq: string | number | undefined): Promise<void> {
    const position = seq === undefined ? Number.NaN : Number(seq);
    if (id === undefined || !Number.isInteger(position)) return this.handleReply(decoded);
    if (!this.pending.has(id)) {
      this.pending.deliver(id, {}); // counted as dropped: timed out, unsubscribed, or not ours
      this.sequencer.forget(id);
      return;
    }
    const reply = decoded as { isDisposed?: unknown; err?: unknown } | null;
    const final = Boolean(reply?.isDisposed) || (reply?.err !== undefined && reply?.err !== null);
    for (const ready of this.sequencer.accept(id, position, decoded, final)) await this.handleReply(ready);
    if (this.sequencer.waiting > 64) this.sequencer.retain((key) => this.pending.has(key));
  }

  /** Feeds one reply in order; unknown or foreign replies are dropped. */
  protected async handleReply(raw: unknown): Promise<void> {
    const reply = await this.deserializer.deserialize(raw);
    if (!isResponsePacket(reply)) {
      this.logger.warn(`${this.settings.transport}: dropped a reply that is not a Nest response packet`);
      return;
    }
    const { id, err, response, isDisposed } = reply;
    this.pending.deliver(id, { err, response, isDisposed });
  }

  /**
   * A subclass's `connect()`: `open` runs once and is cached (`send()` calls `connect()` on every
   * request); a failed open is undone with `teardown`, so that the next call tries again.
   */
  protected connectOnce(open: () => Promise<void>, teardown: () => Promise<void>): Promise<void> {
    this.opening ??= open().catch(async (err) => {
      this.opening = undefined;
      await teardown();
      throw err;
    });
    return this.opening;
  }

  /** A subclass's `close()`: waits for a connect under way, fails what is pending, tears down, reports `disconnected`. */
  protected async closeOnce(teardown: () => Promise<void>): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    await opening?.catch(() => undefined);
    this.failPending('the client closed before the reply arrived');
    await teardown();
    this._status$.next(TransportStatus.DISCONNECTED);
  }

  /** The connection died on its own (not through `close()`): the next `connect()` opens anew. False when none was open. */
  protected forgetConnection(): boolean {
    if (!this.opening) return false;
    this.opening = undefined;
    return true;
  }

  /** Fails every in-flight request; call from `close()` and when the reply consumer dies. */
  protected failPending(detail?: string): void {
    this.pending.rejectAll(new ConnectionClosedError(this.settings.transport, detail));
  }

  protected assertSize(body: Buffer | string): void {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (size > this.settings.maxMessageBytes) {
      throw new PayloadTooLargeError(this.settings.transport, size, this.settings.maxMessageBytes);
    }
  }

  private splitRecord(data: unknown): { data: unknown; options?: unknown } {
    const record = this.settings.record;
    return record && data instanceof record ? { data: data.data, options: data.options } : { data };
  }

  private timeoutFor(pattern: unknown) {
    const ms = this.settings.requestTimeout;
    return ms > 0 ? { ms, pattern: String(pattern) } : undefined;
  }
}

/** The request's span ends with its last reply (or its error). */
export function tracedCallback(span: MessageSpan, callback: (packet: WritePacket) => void): (packet: WritePacket) => void {
  return (packet) => {
    const failed = packet.err !== undefined && packet.err !== null;
    if (failed) span.fail(packet.err);
    if (failed || packet.isDisposed) span.end();
    callback(packet);
  };
}
