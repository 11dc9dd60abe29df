import { EventEmitter, setMaxListeners } from 'node:events';
import type { BaseRpcContext, CustomTransportStrategy, Deserializer, MessageHandler, Serializer, WritePacket } from '@nestjs/microservices';
import { Server } from '@nestjs/microservices';
import { deferred } from './async.js';
import type { Codec } from './codec.js';
import { type DecodedPacket, decodePacket } from './decode.js';
import { describeError } from './errors.js';
import { HandlerSlots } from './handler-slots.js';
import { assertConnected, checkHealth, HEALTH_TIMEOUT_MS, type HealthIndicatorResult, type HealthOptions, healthKey } from './health.js';
import { rememberDefaultHooks, runEventHandler, runRequestHandler } from './handlers.js';
import { InFlightTracker } from './in-flight.js';
import { KeyedSerialRunner } from './keyed-serial.js';
import { LogThrottle } from './log-throttle.js';
import { NO_MESSAGE_HANDLER, type PacketMetadata } from './packets.js';
import { RouteMemo } from './route-memo.js';
import { type RetryDelayOption, retryDelayFor } from './server-options.js';
import { TransportStatus } from './status.js';
import { tracingReady } from './tracing/ready.js';
import { type MessageSpan, startProcessSpan } from './tracing/spans.js';
import { WireAttributes } from './wire.js';

/** A message as the transport took it from its backend, in the terms the server needs. */
export interface Inbound<M> {
  /** The native message (SQS `Message`, Pub/Sub `Message`, …); the context hands it to handlers. */
  message: M;
  /** The broker's id of the message, for logs. */
  messageId: string;
  /** Where it came from (a queue URL, a subscription name), for logs and the context. */
  source: string;
  /** The body as the broker carries the codec's output (text, or bytes for a binary codec). */
  body: string | Buffer;
  /** String attributes / headers; the `nest-*` ones (`WireAttributes`) are read from here. */
  attributes: Readonly<Record<string, string>>;
  /** Ordering key (a FIFO message group, a Pub/Sub ordering key): messages of one key are handled one after another. */
  key?: string;
  /** Delivery attempt (1 on first delivery), when known. */
  attempt?: number;
  /** Pattern of a message that is not a Nest packet. */
  defaultPattern?: string;
}

/** What became of a message, and so how it is settled. */
export type Outcome =
  | { action: 'ack'; reason: 'handled' | 'replied' | 'no-handler' | 'malformed'; error?: unknown }
  | { action: 'retry'; reason: 'failed' | 'malformed'; error: unknown; delaySeconds?: number }
  | { action: 'dead-letter'; reason: 'failed' | 'malformed'; error: unknown }
  | { action: 'none'; reason: 'manual' };

/** Why a message is handed back without being handled. */
export type ReleaseReason = 'closing' | 'order';

/** What a handler's context offers with `manualAck: true`. */
export interface ManualSettlement {
  /** Done: acknowledge (delete) the message. */
  ack(): Promise<void>;
  /** Hand the message back for redelivery, after `delaySeconds` (default: the server's `retryDelaySeconds`). */
  nack(delaySeconds?: number): Promise<void>;
  readonly settled: boolean;
}

/** One reply of a request, encoded; `seq` numbers the replies of a request from 0, `final` marks its last. */
export interface OutgoingReply {
  id: string;
  seq: number;
  final: boolean;
  body: string | Buffer;
  /** `replySize()` of this body, as measured against `maxReplyBytes` (unset when the body changed since). */
  size?: number;
}

/** What the server needs to know of its transport; the options a user gives, resolved with the transport's defaults. */
export interface BrokeredServerSettings {
  /** Name in logs and errors, e.g. "SqsServer". */
  transport: string;
  /** `messaging.system` of its spans ("aws_sqs", "gcp_pubsub", "nats"…). Default: `transport`. */
  messagingSystem?: string;
  codec: Codec;
  maxConcurrency: number;
  closeTimeout: number;
  manualAck: boolean;
  onMalformed: 'retain' | 'discard';
  retryDelaySeconds?: RetryDelayOption;
  /** Largest reply the backend carries; a larger one becomes an error reply. */
  maxReplyBytes: number;
  /** For transports that dead-letter themselves (`deadLetter()`): deliveries before a failing message goes there. */
  maxDeliveries?: number;
  /**
   * `false` when this instance has no dead-letter destination (it is an option of the transport):
   * failing and malformed messages are then retried as if the transport had no `deadLetter()`.
   */
  deadLetters?: boolean;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

interface Entry<M> {
  inbound: Inbound<M>;
  holdsSlot: boolean;
  state: 'waiting' | 'running' | 'done';
  stopLease: () => void;
}

const noop = () => undefined;
const INTERNAL_ERROR = { status: 'error', message: 'Internal server error' };

/**
 * The server half of every broker transport, the counterpart of `BrokeredClient`. It owns what
 * is not the broker: handler slots (`maxConcurrency`), in-flight tracking of requests and
 * events, per-key ordering, decode → Nest's own dispatch (so processing hooks, guards,
 * interceptors and filters see every request and event) → outcome → settle, numbered replies
 * with the oversize fallback, and a graceful close bounded by `closeTimeout`.
 *
 * A transport extends it with its intake (`startIntake`/`stopIntake`, which call `accept()` for
 * each message), its settle calls (`ack`, `retry`, `release`, optionally `deadLetter` and
 * `lease`), `sendReply`, `createContext`, `unwrap`, and its admin. Hosts that settle messages
 * themselves (a Lambda batch, a push endpoint) call `process()` and map the `Outcome`.
 */
export abstract class BrokeredServer<M, EventsMap extends Record<string, Function> = Record<string, Function>>
  extends Server<EventsMap, TransportStatus>
  implements CustomTransportStrategy
{
  override readonly propagatesEventHandlerErrors = true;
  protected readonly events = new EventEmitter();
  protected readonly slots: HandlerSlots;
  protected readonly inFlight = new InFlightTracker();
  protected readonly logs: LogThrottle;
  protected closing = false;
  private readonly serial = new KeyedSerialRunner();
  private readonly waiting = new Set<Entry<M>>();
  private closeController = new AbortController();
  private closed?: Promise<void>;
  private currentStatus?: TransportStatus;
  private readonly routes = new RouteMemo(
    (pattern) => super.getRouteFromPattern(pattern),
    (route) => this.messageHandlers.has(route),
  );

  protected constructor(protected readonly settings: BrokeredServerSettings) {
    super();
    this.slots = new HandlerSlots(settings.maxConcurrency);
    this.logs = new LogThrottle(this.logger);
    this.initializeSerializer(settings);
    this.initializeDeserializer(settings);
    rememberDefaultHooks(this);
    this.events.on('error', noop); // an 'error' nobody listens to must not throw
    this._status$.subscribe((status) => (this.currentStatus = status));
  }

  /**
   * A `@nestjs/terminus` indicator (`health.check([() => server.health()])`): `up` while listening
   * and connected, with what the backend tells (backlog, in flight), else `down` with the reason,
   * within `timeoutMs`. Never rejects.
   */
  health<Key extends string = string>(options: HealthOptions<Key> = {}): Promise<HealthIndicatorResult<Key>> {
    const key = (options.key ?? healthKey(this.settings.transport)) as Key;
    return checkHealth(key, options.timeoutMs ?? HEALTH_TIMEOUT_MS, async (signal) => {
      assertConnected(this.settings.transport, this.currentStatus);
      return { ...(await this.healthDetails(signal)), inFlight: this.inFlight.size };
    });
  }

  /** What the backend tells about the server's sources (backlog…); throws when it cannot be reached. */
  protected async healthDetails(_signal: AbortSignal): Promise<Record<string, unknown>> {
    return {};
  }

  // ---- what a transport provides --------------------------------------------------------

  /** Checks the backend and starts receiving; a rejection fails `listen()` with it. */
  protected abstract startIntake(): Promise<void>;
  /** Stops receiving new messages (closing); the server then drains what it holds. */
  protected abstract stopIntake(): Promise<void>;
  /** The `@Ctx()` of a message; `settlement` is set with `manualAck`. */
  protected abstract createContext(inbound: Inbound<M>, route: string, metadata: PacketMetadata | undefined, settlement?: ManualSettlement): BaseRpcContext;
  /** Done with the message: delete / ack it. */
  protected abstract ack(inbound: Inbound<M>): Promise<void>;
  /** Its handler failed: hand it back for redelivery, after `delaySeconds` when given (else the backend's own delay). */
  protected abstract retry(inbound: Inbound<M>, delaySeconds: number | undefined, error: unknown): Promise<void>;
  /** Not handled (the server is closing, or an earlier message of its key failed): hand it back at once, unharmed. */
  protected abstract release(inbound: Inbound<M>, reason: ReleaseReason): Promise<void>;
  /** Publishes one reply to the destination the request named. */
  protected abstract sendReply(inbound: Inbound<M>, replyTo: string, reply: OutgoingReply): Promise<void>;
  /** For transports that dead-letter themselves: moves the message there (with the reason). */
  protected deadLetter?(inbound: Inbound<M>, error: unknown): Promise<void>;

  /** Keeps a message held from `accept()` until it is settled (visibility / lease extension); returns the stop. */
  protected lease(_inbound: Inbound<M>): (() => void) | undefined {
    return undefined;
  }

  /** The serialized reply as the backend carries it. */
  protected encode(value: unknown): string | Buffer {
    return this.settings.codec.encode(value);
  }

  /** Size of a reply as the backend counts it against `maxReplyBytes`. */
  protected replySize(reply: OutgoingReply): number {
    return typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.byteLength;
  }

  /** Retry delay when the option `retryDelaySeconds` is unset; undefined leaves it to the backend. */
  protected defaultRetryDelay(_inbound: Inbound<M>): number | undefined {
    return undefined;
  }

  /** What happens to a message handed back for redelivery, in words for the log. */
  protected describeRetry(_inbound: Inbound<M>, delaySeconds: number | undefined): string {
    return delaySeconds === undefined ? 'it is left for redelivery' : `it is left for redelivery in ${delaySeconds} s`;
  }

  /** `messaging.destination.name` of a message's consumer span. Default: its `source`. */
  protected traceSource(inbound: Inbound<M>): string {
    return inbound.source;
  }

  /** Sends what is still batched (acks, replies) before the server closes. */
  protected async flush(): Promise<void> {}

  /** Closes the clients the transport created; runs last in `close()` and after a failed `listen()`. */
  protected async releaseResources(): Promise<void> {}

  // ---- lifecycle -----------------------------------------------------------------------

  async listen(callback: (err?: unknown, ...optionalParams: unknown[]) => void): Promise<void> {
    this.closing = false;
    this.closed = undefined;
    this.closeController = new AbortController();
    setMaxListeners(0, this.closeController.signal); // one listener per message waiting for a slot, removed when it gets one
    try {
      await tracingReady;
      await this.startIntake();
    } catch (err) {
      this.closing = true;
      await this.stopIntake().catch(noop);
      await this.releaseResources().catch(noop);
      this._status$.next(TransportStatus.DISCONNECTED);
      return callback(err);
    }
    this._status$.next(TransportStatus.CONNECTED);
    callback();
  }

  /**
   * Graceful: stops receiving, hands back the messages not started (and any that arrive),
   * lets the handlers in flight finish and send their replies (up to `closeTimeout`), then
   * flushes acks and replies. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  /** `error` carries failures the server survives (a receive, an ack, a reply that could not be sent). */
  on<K extends keyof EventsMap>(event: K, callback: EventsMap[K]): void {
    this.events.on(event as string, callback as unknown as (...args: unknown[]) => void);
  }

  /** Aborts when `close()` starts: waits a transport makes (a retry delay, a backoff) end early. */
  protected get closingSignal(): AbortSignal {
    return this.closeController.signal;
  }

  protected emitError(err: unknown, ...details: unknown[]): void {
    this.events.emit('error', err, ...details);
  }

  protected override getRouteFromPattern(pattern: string): string {
    return this.routes.route(pattern);
  }

  private async shutdown(): Promise<void> {
    const started = Date.now();
    this.closing = true;
    this.closeController.abort();
    for (const entry of [...this.waiting]) void this.inFlight.track(this.releaseEntry(entry, 'closing'));
    await this.stopIntake().catch((err) => this.logger.warn(`${this.settings.transport}: stopping intake failed: ${describeError(err).message}`));
    const { closeTimeout } = this.settings;
    if (!(await this.inFlight.drain(Math.max(0, closeTimeout - (Date.now() - started))))) {
      this.logger.warn(
        `${this.settings.transport} closed with ${this.inFlight.size} messages still in its handlers after closeTimeout (${closeTimeout} ms); ` +
          'they are not acknowledged and will be redelivered',
      );
    }
    await this.flush().catch((err) => this.logger.warn(`${this.settings.transport}: flushing on close failed: ${describeError(err).message}`));
    await this.releaseResources().catch(noop);
    this._status$.next(TransportStatus.DISCONNECTED);
  }

  // ---- intake → processing → settle ---------------------------------------------------

  /**
   * Takes a message from the intake; the server handles it (in order behind the earlier messages
   * of its key, within `maxConcurrency`) and settles it. A pull intake passes `holdsSlot` for a
   * message received on a slot it took; a push intake lets the server wait for one.
   */
  protected accept(inbound: Inbound<M>, { holdsSlot = false }: { holdsSlot?: boolean } = {}): void {
    const entry: Entry<M> = { inbound, holdsSlot, state: 'waiting', stopLease: this.lease(inbound) ?? noop };
    if (this.closing) {
      void this.inFlight.track(this.releaseEntry(entry, 'closing'));
      return;
    }
    this.waiting.add(entry);
    const run = (interrupted: boolean) => this.runEntry(entry, interrupted);
    void this.inFlight.track(inbound.key === undefined ? run(false) : this.serial.run(inbound.key, run));
  }

  /**
   * Settles a message the intake cannot hand to a handler (it is not a message of this transport,
   * it is over a limit, its headers do not parse…) as a malformed one: per `onMalformed`, to the
   * dead-letter destination when the transport has one, else retried. Logged with `error`.
   */
  protected refuse(inbound: Inbound<M>, error: unknown): void {
    void this.inFlight.track(this.settle(inbound, this.malformed(inbound, error)));
  }

  /**
   * Handles one message for a host that settles it itself (a Lambda batch, a push endpoint):
   * within `maxConcurrency`, tracked for `close()`, no settle call made.
   */
  protected process(inbound: Inbound<M>): Promise<Outcome> {
    const run = async () => {
      await this.slots.acquire();
      try {
        return await this.handle(inbound, undefined);
      } finally {
        this.slots.release();
      }
    };
    return this.inFlight.track(run());
  }

  private async runEntry(entry: Entry<M>, interrupted: boolean): Promise<void> {
    if (entry.state !== 'waiting') return; // handed back at close
    if (!entry.holdsSlot) {
      entry.holdsSlot = await this.slots.acquire(this.closingSignal);
      if (entry.state !== 'waiting') return this.freeSlot(entry);
      if (!entry.holdsSlot) return this.releaseEntry(entry, 'closing');
    }
    if (interrupted) return this.releaseEntry(entry, 'order');
    this.waiting.delete(entry);
    entry.state = 'running';
    let outcome: Outcome;
    try {
      outcome = await this.handle(entry.inbound, entry);
    } catch (error) {
      outcome = this.failed(entry.inbound, 'a handler', error);
    } finally {
      this.freeSlot(entry);
      entry.stopLease();
    }
    entry.state = 'done';
    // The backend redelivers a failed message with the later ones of its key: those must wait for it.
    if (outcome.action === 'retry' && entry.inbound.key !== undefined) this.serial.interrupt(entry.inbound.key);
    // The next message of the key starts now; its predecessor's ack need not have landed.
    void this.inFlight.track(this.settle(entry.inbound, outcome));
  }

  private async releaseEntry(entry: Entry<M>, reason: ReleaseReason): Promise<void> {
    if (entry.state === 'done') return;
    this.waiting.delete(entry);
    entry.state = 'done';
    this.freeSlot(entry);
    entry.stopLease();
    try {
      await this.release(entry.inbound, reason);
    } catch (err) {
      this.settleFailed('hand back', entry.inbound, err);
    }
  }

  private freeSlot(entry: Entry<M>): void {
    if (!entry.holdsSlot) return;
    entry.holdsSlot = false;
    this.slots.release();
  }

  private async settle(inbound: Inbound<M>, outcome: Outcome): Promise<void> {
    try {
      if (outcome.action === 'ack') await this.ack(inbound);
      else if (outcome.action === 'retry') await this.retry(inbound, outcome.delaySeconds, outcome.error);
      else if (outcome.action === 'dead-letter') await this.deadLetter!(inbound, outcome.error);
    } catch (err) {
      this.settleFailed(outcome.action, inbound, err);
    }
  }

  private settleFailed(what: string, inbound: Inbound<M>, err: unknown): void {
    this.logs.log('warn', `settle:${what}`, () => `Could not ${what} message ${inbound.messageId} from ${inbound.source}: ${describeError(err).message}`);
    this.emitError(err, inbound.source);
  }

  /**
   * Handles a message within its consumer/server span when tracing is on: the span's parent is
   * the context the producer sent, and the handler runs inside it.
   */
  private async handle(inbound: Inbound<M>, entry: Entry<M> | undefined): Promise<Outcome> {
    const request = inbound.attributes[WireAttributes.ID] !== undefined;
    const span = startProcessSpan(
      {
        system: this.settings.messagingSystem ?? this.settings.transport,
        source: this.traceSource(inbound),
        request,
        messageId: inbound.messageId,
        attempt: inbound.attempt,
      },
      inbound.attributes,
    );
    if (!span) return this.handleMessage(inbound, entry, undefined);
    try {
      const outcome = await span.run(() => this.handleMessage(inbound, entry, span));
      span.outcome(outcome.action, outcome.reason);
      if ('error' in outcome && outcome.error !== undefined) span.fail(outcome.error);
      return outcome;
    } finally {
      span.end();
    }
  }

  /** Decode → Nest's dispatch → outcome; never throws. */
  private async handleMessage(inbound: Inbound<M>, entry: Entry<M> | undefined, span: MessageSpan | undefined): Promise<Outcome> {
    let packet: DecodedPacket;
    try {
      const fromNest = inbound.attributes[WireAttributes.PATTERN] !== undefined || inbound.attributes[WireAttributes.ID] !== undefined;
      packet = await decodePacket(this.settings.codec, this.deserializer, { body: inbound.body, fromNest, defaultPattern: inbound.defaultPattern });
    } catch (error) {
      return this.malformed(inbound, error);
    }
    const route = typeof packet.pattern === 'string' ? this.getRouteFromPattern(packet.pattern) : this.normalizePattern(packet.pattern as never);
    const settlement = entry && this.settings.manualAck ? this.manualSettlement(entry) : undefined;
    const context = this.createContext(inbound, route, packet.metadata, settlement);
    span?.set({ 'nest.pattern': route });
    const outcome =
      packet.id === undefined
        ? await this.dispatchEvent(inbound, route, packet, context)
        : await this.dispatchRequest(inbound, route, packet.id, packet, context, span);
    // With manualAck the handler settles what it handled; the server settles only what it could not.
    if (settlement && (settlement.settled || outcome.reason === 'handled' || outcome.reason === 'replied')) return { action: 'none', reason: 'manual' };
    return outcome;
  }

  private async dispatchEvent(inbound: Inbound<M>, route: string, packet: DecodedPacket, context: BaseRpcContext): Promise<Outcome> {
    const handler = this.getHandlerByPattern(route);
    if (!handler) {
      this.logs.log(
        'error',
        `no-handler:${route}`,
        () =>
          `There is no matching event handler defined in the remote service. Event pattern: ${route} ` +
          `(message ${inbound.messageId} from ${inbound.source}, attributes ${attributesForLog(inbound.attributes)}); it is acknowledged and dropped`,
      );
      return { action: 'ack', reason: 'no-handler' };
    }
    try {
      await runEventHandler(this as unknown as Server, handler, packet.data, context);
      return { action: 'ack', reason: 'handled' };
    } catch (error) {
      return this.failed(inbound, `the event handler of "${route}"`, error);
    }
  }

  private async dispatchRequest(
    inbound: Inbound<M>,
    route: string,
    id: string | number,
    packet: DecodedPacket,
    context: BaseRpcContext,
    span: MessageSpan | undefined,
  ): Promise<Outcome> {
    const respond = this.replier(inbound, route, id);
    const handler: MessageHandler | null = this.getHandlerByPattern(route);
    if (!handler) {
      await respond({ status: 'error', err: NO_MESSAGE_HANDLER, isDisposed: true } as WritePacket);
      return { action: 'ack', reason: 'no-handler' };
    }
    const answered = deferred();
    const reply = async (p: WritePacket) => {
      if (p.err !== undefined && p.err !== null) span?.fail(p.err);
      await respond(p);
      if (p.isDisposed) answered.resolve();
    };
    try {
      await runRequestHandler(this as unknown as Server, handler, packet.data, context, reply);
    } catch (error) {
      this.logs.log('error', `request:${route}`, () => `The handler of "${route}" failed before replying: ${describeError(error).message}`);
      await reply({ err: INTERNAL_ERROR, isDisposed: true });
    }
    await answered.promise;
    // A handler that ran is not run again because its reply could not be delivered.
    return { action: 'ack', reason: 'replied' };
  }

  /** The replies of one request, numbered; a reply over the limit is replaced by an error reply. Never throws. */
  private replier(inbound: Inbound<M>, route: string, id: string | number) {
    const replyTo = inbound.attributes[WireAttributes.REPLY_TO];
    let seq = 0;
    let finished = false;
    return async (packet: WritePacket): Promise<void> => {
      if (finished) return;
      finished = Boolean(packet.isDisposed);
      if (!replyTo) {
        this.logs.log('warn', 'no-reply-to', () => `Request ${id} ("${route}", message ${inbound.messageId}) names no reply destination; its reply is dropped`);
        return;
      }
      const reply: OutgoingReply = {
        id: String(id),
        seq: seq++,
        final: finished,
        body: this.encode(this.serializer.serialize({ ...packet, id } as WritePacket & { id: string })),
      };
      const size = this.replySize(reply);
      if (size > this.settings.maxReplyBytes) {
        const message = `The reply is ${size} bytes, over the limit of ${this.settings.maxReplyBytes} bytes.`;
        this.logs.log(
          'error',
          `oversize:${route}`,
          () => `${this.settings.transport}: ${message} (request ${id}, "${route}"); the caller gets an error instead.`,
        );
        reply.body = this.encode(this.serializer.serialize({ id: id as string, err: { status: 'error', message }, isDisposed: true }));
        reply.final = finished = true;
      } else {
        reply.size = size;
      }
      try {
        await this.sendReply(inbound, replyTo, reply);
      } catch (err) {
        this.logs.log('error', `reply:${route}`, () => `Could not send the reply to request ${id} ("${route}") to ${replyTo}: ${describeError(err).message}`);
        this.emitError(err, inbound.source);
      }
    };
  }

  private get canDeadLetter(): boolean {
    return this.deadLetter !== undefined && this.settings.deadLetters !== false;
  }

  private failed(inbound: Inbound<M>, what: string, error: unknown): Outcome {
    const attempt = inbound.attempt;
    const deadLetter = this.canDeadLetter && this.settings.maxDeliveries !== undefined && (attempt ?? 1) >= this.settings.maxDeliveries;
    const delaySeconds = deadLetter ? undefined : this.retryDelay(inbound);
    this.logs.log(
      'error',
      `failed:${what}`,
      () =>
        `${capitalize(what)} failed on message ${inbound.messageId} from ${inbound.source}${attempt ? ` (attempt ${attempt})` : ''}: ` +
        `${describeError(error).message}; ${deadLetter ? 'it goes to the dead-letter destination' : this.describeRetry(inbound, delaySeconds)}`,
    );
    return deadLetter ? { action: 'dead-letter', reason: 'failed', error } : { action: 'retry', reason: 'failed', error, delaySeconds };
  }

  private malformed(inbound: Inbound<M>, error: unknown): Outcome {
    const discard = this.settings.onMalformed === 'discard';
    const deadLetter = !discard && this.canDeadLetter;
    const delaySeconds = discard || deadLetter ? undefined : this.retryDelay(inbound);
    this.logs.log('error', `malformed:${inbound.source}`, () => {
      const fate = discard
        ? 'it is acknowledged and dropped (onMalformed: "discard")'
        : deadLetter
          ? 'it goes to the dead-letter destination'
          : this.describeRetry(inbound, delaySeconds);
      return `Message ${inbound.messageId} from ${inbound.source} is malformed (${describeError(error).message}; attributes ${attributesForLog(inbound.attributes)}); ${fate}`;
    });
    if (discard) return { action: 'ack', reason: 'malformed', error };
    return deadLetter ? { action: 'dead-letter', reason: 'malformed', error } : { action: 'retry', reason: 'malformed', error, delaySeconds };
  }

  /** Seconds until a failed message is handed out again: the option, else the transport's default. */
  protected retryDelay(inbound: Inbound<M>): number | undefined {
    const option = this.settings.retryDelaySeconds;
    return option === undefined ? this.defaultRetryDelay(inbound) : retryDelayFor(option, inbound.attempt ?? 1);
  }

  private manualSettlement(entry: Entry<M>): ManualSettlement {
    let settled = false;
    const once = async (settle: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      entry.stopLease();
      await settle();
    };
    return {
      ack: () => once(() => this.ack(entry.inbound)),
      nack: (delaySeconds) => once(() => this.retry(entry.inbound, delaySeconds ?? this.retryDelay(entry.inbound), undefined)),
      get settled() {
        return settled;
      },
    };
  }
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Attributes for a log line, bounded in length. */
function attributesForLog(attributes: Readonly<Record<string, string>>): string {
  const text = JSON.stringify(attributes);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
