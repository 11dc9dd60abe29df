import { type CustomTransportStrategy, type IncomingRequest, type MessageHandler, Server } from '@nestjs/microservices';
import { finalize, isObservable, lastValueFrom } from 'rxjs';
import { type Consumer, MemoryBroker } from './broker';
import { MemoryContext } from './context';
import { type MemoryServerOptions, SERVER_DEFAULTS, nonEmptyString, positiveInteger } from './options';
import { decode, encode } from './wire';

const NO_HANDLER = 'There is no matching message handler defined in the remote service.';

/** Nest's processing hooks (what tracing and metrics attach to): Nest 12 runs them with `runWithProcessingHooks`, Nest 11 has the hooks alone. */
type Hooked = {
  runWithProcessingHooks?: (context: MemoryContext, fn: (runEndHook: () => void) => Promise<void>) => Promise<void>;
  onProcessingStartHook?: (transportId: unknown, context: MemoryContext, done: () => Promise<unknown>) => unknown;
  onProcessingEndHook?: (transportId: unknown, context: MemoryContext) => void;
  transportId?: unknown;
};

/** The server strategy: `NestFactory.createMicroservice(AppModule, { strategy: new MemoryServer({ queue }) })`. */
export class MemoryServer extends Server implements CustomTransportStrategy {
  private readonly options: Required<Omit<MemoryServerOptions, 'serializer' | 'deserializer'>>;
  private broker: MemoryBroker | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Nest 12: hand event handlers' errors to the transport (so that a failed event is nacked), not to Nest's logger. */
  readonly propagatesEventHandlerErrors = true;

  constructor(options: MemoryServerOptions = {}) {
    super();
    const merged = { ...SERVER_DEFAULTS, ...options };
    this.options = {
      broker: nonEmptyString('broker', merged.broker),
      queue: nonEmptyString('queue', merged.queue),
      prefetch: positiveInteger('prefetch', merged.prefetch),
      closeTimeout: positiveInteger('closeTimeout', merged.closeTimeout),
    };
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
  }

  listen(callback: (err?: unknown) => void): void {
    try {
      this.broker = MemoryBroker.get(this.options.broker);
    } catch (err) {
      callback(err);
      return;
    }
    const consumer: Consumer = { capacity: this.options.prefetch, deliver: (body, attempt) => this.track(this.handle(body, attempt)) };
    this.unsubscribe = this.broker.consume(this.options.queue, consumer);
    this._status$.next('connected');
    callback();
  }

  /** Stops taking messages, then waits (up to closeTimeout) for the handlers in flight. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.inFlight.size) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, this.options.closeTimeout)));
      await Promise.race([Promise.allSettled([...this.inFlight]), timeout]);
      clearTimeout(timer);
    }
    this.broker = null;
    this._status$.next('disconnected');
  }

  /** An in-process broker has no connection events to listen to. */
  on(): void {}

  unwrap<T>(): T {
    if (!this.broker) throw new Error('MemoryServer is not listening');
    return this.broker as T;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  private async handle(body: string, attempt: number): Promise<'ack' | 'nack'> {
    const envelope = decode(body);
    const packet = (await this.deserializer.deserialize(envelope.packet, { channel: this.options.queue })) as IncomingRequest;
    const pattern = this.normalizePattern(packet.pattern);
    const ctx = new MemoryContext([this.options.queue, pattern, envelope.headers ?? {}, attempt]);
    const handler = this.getHandlerByPattern(pattern);
    if (!('id' in packet) || packet.id === undefined) return this.handleEventPacket(handler, packet.data, ctx);
    const reply = (message: object) => {
      const serialized = this.serializer.serialize({ id: packet.id, ...message });
      if (envelope.replyTo) this.broker?.publishIfExists(envelope.replyTo, encode({ packet: serialized }));
    };
    if (!handler) {
      reply({ err: NO_HANDLER, isDisposed: true });
      return 'ack';
    }
    // The delivery is done once the last reply (isDisposed) is out: close() waits for it.
    await new Promise<void>((resolve, reject) => {
      this.withProcessingHooks(ctx, async (runEndHook) => {
        const response$ = this.transformToObservable(await handler(packet.data, ctx)).pipe(finalize(runEndHook));
        this.send(response$, (message) => {
          reply(message);
          if (message.isDisposed || message.err) resolve();
        });
      }).catch(reject);
    });
    return 'ack';
  }

  /** Runs every @EventPattern handler of the pattern; nacks (so: redelivery) when one fails. */
  private async handleEventPacket(handler: MessageHandler | null, data: unknown, ctx: MemoryContext): Promise<'ack' | 'nack'> {
    if (!handler) {
      this.logger.error(`There is no matching event handler defined in the remote service. Event pattern: ${ctx.getPattern()}`);
      return 'ack';
    }
    try {
      await this.withProcessingHooks(ctx, async (runEndHook) => {
        const result = await handler(data, ctx);
        if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
        runEndHook();
      });
      return 'ack';
    } catch {
      return 'nack';
    }
  }

  private withProcessingHooks(ctx: MemoryContext, fn: (runEndHook: () => void) => Promise<void>): Promise<void> {
    const hooked = this as unknown as Hooked;
    if (typeof hooked.runWithProcessingHooks === 'function') return hooked.runWithProcessingHooks(ctx, fn);
    if (typeof hooked.onProcessingStartHook !== 'function') return fn(() => undefined);
    let ended = false;
    const runEndHook = () => {
      if (ended) return;
      ended = true;
      hooked.onProcessingEndHook?.(hooked.transportId, ctx);
    };
    const run = async () => {
      try {
        await fn(runEndHook);
      } catch (err) {
        runEndHook();
        throw err;
      }
    };
    return Promise.resolve(hooked.onProcessingStartHook(hooked.transportId, ctx, run)).then(() => undefined);
  }
}
