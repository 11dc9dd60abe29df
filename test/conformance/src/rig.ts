import 'reflect-metadata';
import { Module, type INestApplicationContext, type INestMicroservice, type PipeTransform, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { lastValueFrom, map, type Observable } from 'rxjs';
import type { ClientProxy, CodecOverrides, HandlerKind, RunEnv, TransportDescriptor } from './descriptor.js';
import { nestLogger } from './nest-log.js';
import type { PatternName } from './scenario.js';
import { TimeoutError, errorText, show, until, withTimeout } from './util.js';

export interface HandlerSpec {
  kind: HandlerKind;
  pattern: unknown;
  handle(data: any, ctx: any): unknown;
  /** The payload's class, for pipes that read the metatype (ValidationPipe). */
  payloadType?: Type<unknown>;
  pipes?: PipeTransform[];
}

export const onMessage = (pattern: unknown, handle: HandlerSpec['handle'], extra: Partial<HandlerSpec> = {}): HandlerSpec => ({
  kind: 'message',
  pattern,
  handle,
  ...extra,
});
export const onEvent = (pattern: unknown, handle: HandlerSpec['handle']): HandlerSpec => ({ kind: 'event', pattern, handle });

/** A fresh module whose controller has one method per handler, decorated as a user would. */
export function buildModule(handlers: HandlerSpec[], t: Pick<TransportDescriptor, 'handlerPattern' | 'adaptHandler'> = {}): Type<unknown> {
  class ConformanceController {}
  const proto = ConformanceController.prototype as any;
  handlers.forEach((spec, i) => {
    const key = `handler${i}`;
    const handle = t.adaptHandler ? t.adaptHandler(spec.handle) : spec.handle;
    proto[key] = (data: unknown, ctx: unknown) => handle(data, ctx);
    Reflect.defineMetadata('design:paramtypes', [spec.payloadType ?? Object, Object], proto, key);
    Payload(...(spec.pipes ?? []))(proto, key, 0);
    Ctx()(proto, key, 1);
    const { pattern, transport } = t.handlerPattern ? t.handlerPattern(spec.pattern, spec.kind) : { pattern: spec.pattern, transport: undefined };
    const decorate = spec.kind === 'event' ? EventPattern(pattern as any, transport as any) : MessagePattern(pattern as any, transport as any);
    decorate(proto, key, Object.getOwnPropertyDescriptor(proto, key)!);
  });
  class ConformanceModule {}
  Module({ controllers: [ConformanceController] })(ConformanceModule);
  return ConformanceModule;
}

/** `name` in the run's namespace: `${ns}.name`, or the object pattern with `ns` added. */
export function namespaced(ns: string, name: PatternName): unknown {
  return typeof name === 'string' ? `${ns}.${name}` : { ns, ...name };
}

const LISTEN_MS = 10_000;
const CLOSE_MS = 5_000;

interface Tracked {
  label: string;
  close(): Promise<unknown>;
}

/** One scenario run: starts servers and clients for a descriptor and closes all of them at the end. */
export class Rig {
  private readonly apps = new Map<INestMicroservice, string>();
  private readonly clients = new Map<ClientProxy, Tracked>();
  private readonly closing = new Set<string>();
  private serverCount = 0;
  private clientCount = 0;

  constructor(
    readonly transport: TransportDescriptor,
    readonly env: RunEnv,
    private readonly declared: { messages?: PatternName[]; events?: PatternName[] } = {},
    /** The row's time scale (see timeScale in runner.ts). */
    readonly scale = 1,
  ) {}

  /** A wait bound of `base` ms on the default backend, stretched by the row's time scale. */
  ms(base: number): number {
    return Math.round(base * this.scale);
  }

  // The waits of the scenarios, with their bounds stretched by the row's time scale.
  request<T = unknown>(client: ClientProxy, pattern: unknown, data: unknown, ms = 5_000, what?: string): Promise<T> {
    return request<T>(client, pattern, data, this.ms(ms), what);
  }
  collect<T>(source: Observable<T>, ms: number, what: string): Promise<T[]> {
    return collect(source, this.ms(ms), what);
  }
  errorOf(source: Observable<unknown>, ms: number, what: string): Promise<any> {
    return errorOf(source, this.ms(ms), what);
  }
  until(predicate: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
    return until(predicate, this.ms(ms), what);
  }
  sent(emit$: Observable<unknown>, what = 'emit'): Promise<unknown> {
    return sent(emit$, what, this.ms(5_000));
  }

  /** The string pattern `${ns}.name`; `name` must be one the scenario declares. */
  p(name: string): string {
    return this.pattern(name) as string;
  }

  /** A declared pattern in this run's namespace (strings and object patterns). */
  pattern(name: PatternName): unknown {
    const key = JSON.stringify(name);
    const all = [...(this.declared.messages ?? []), ...(this.declared.events ?? [])];
    if (!all.some((d) => JSON.stringify(d) === key)) throw new Error(`scenario ${this.env.scenario} uses pattern ${key} without declaring it in its patterns`);
    return namespaced(this.env.ns, name);
  }

  /** `value` as the transport delivers it (its documented `wire` mapping; unchanged by default). */
  wire<T>(value: T): unknown {
    return this.transport.wire ? this.transport.wire(value) : value;
  }

  /** Detecting a duplicate needs a quiet period after the expected messages arrived: nothing else signals it. */
  settle(ms = 250): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** The labels of the closes in progress (a stray error raised meanwhile is attributed to them). */
  closingNow(): string[] {
    return [...this.closing];
  }

  /** Creates the app without listening (to listen later, or to inspect it). */
  async createServer(handlers: HandlerSpec[], opts: { codecs?: CodecOverrides; env?: RunEnv } = {}): Promise<INestMicroservice> {
    const module = buildModule(handlers, this.transport);
    const options = this.transport.server(opts.env ?? this.env, opts.codecs);
    const app = await NestFactory.createMicroservice(module, { ...options, logger: nestLogger } as any);
    const instance = serverInstance(app);
    this.apps.set(app, `server #${++this.serverCount} (${instance?.constructor?.name ?? 'server'})`);
    return app;
  }

  async listen(app: INestMicroservice): Promise<INestMicroservice> {
    await withTimeout(app.listen(), this.ms(LISTEN_MS), `${this.apps.get(app) ?? 'server'} listen()`);
    return app;
  }

  async server(handlers: HandlerSpec[], opts: { codecs?: CodecOverrides; env?: RunEnv } = {}): Promise<INestMicroservice> {
    return this.listen(await this.createServer(handlers, opts));
  }

  /** A client from the descriptor (`client()`, or `hostedClient()` inside a Nest app), tracked and closed at the end. */
  async client(opts: { codecs?: CodecOverrides; env?: RunEnv } = {}): Promise<ClientProxy> {
    const env = opts.env ?? this.env;
    const label = `client #${++this.clientCount}`;
    if (this.transport.hostedClient) {
      const spec = this.transport.hostedClient(env, opts.codecs);
      class ConformanceClientHost {}
      Module({ imports: spec.imports })(ConformanceClientHost);
      const host: INestApplicationContext = await withTimeout(
        NestFactory.createApplicationContext(ConformanceClientHost, { logger: nestLogger }),
        this.ms(LISTEN_MS),
        `${label}: the app hosting it (init, onApplicationBootstrap)`,
      );
      const client = host.get<ClientProxy>(spec.token as never);
      this.clients.set(this.mapReplies(client), { label: `${label} (${client.constructor?.name}, hosted in a Nest app)`, close: () => host.close() });
      return client;
    }
    if (!this.transport.client) throw new Error(`${this.transport.name}: the descriptor gives neither client() nor hostedClient()`);
    return this.track(this.transport.client(env, opts.codecs), label);
  }

  /** Tracks a client made elsewhere (closed at the end of the run). */
  track(client: ClientProxy, label = `client #${++this.clientCount}`): ClientProxy {
    this.clients.set(this.mapReplies(client), { label: `${label} (${client.constructor?.name})`, close: async () => client.close() });
    return client;
  }

  /** Applies the descriptor's `reply` mapping to every value the client's send() emits. */
  private mapReplies(client: ClientProxy): ClientProxy {
    const reply = this.transport.reply;
    if (reply) {
      const send = client.send.bind(client);
      client.send = ((pattern: unknown, data: unknown) => send(pattern, data).pipe(map((value) => reply(value)))) as ClientProxy['send'];
    }
    return client;
  }

  private async closeLabelled(label: string, close: () => Promise<unknown>): Promise<void> {
    this.closing.add(label);
    try {
      await withTimeout(close(), this.ms(CLOSE_MS), `${label} close()`).catch((err) => {
        throw err instanceof TimeoutError ? err : new Error(`${label} close() threw: ${errorText(err)}`, { cause: err });
      });
    } finally {
      // An unhandled rejection is reported after the microtasks that follow it: keep the window open one turn.
      await new Promise((resolve) => setImmediate(resolve));
      this.closing.delete(label);
    }
  }

  async closeServer(app: INestMicroservice): Promise<void> {
    const label = this.apps.get(app) ?? 'server';
    this.apps.delete(app);
    await this.closeLabelled(label, () => app.close());
  }

  async closeClient(client: ClientProxy): Promise<void> {
    const tracked = this.clients.get(client);
    this.clients.delete(client);
    await this.closeLabelled(tracked?.label ?? 'client', tracked ? tracked.close : async () => client.close());
  }

  /** Closes everything still open, clients first; errors are collected, not thrown, so one bad close cannot hide others. */
  async dispose(): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (const client of [...this.clients.keys()]) await this.closeClient(client).catch((err) => errors.push(err));
    for (const app of [...this.apps.keys()]) await this.closeServer(app).catch((err) => errors.push(err));
    return errors;
  }
}

/** The strategy behind a Nest microservice app (Nest 11 and 12 keep it in `serverInstance`). */
export function serverInstance(app: INestMicroservice): any {
  return (app as unknown as { serverInstance?: unknown }).serverInstance;
}

/** Records what an Observable delivers, to say what did arrive when a wait fails. */
class Arrivals {
  readonly values: unknown[] = [];
  completed = false;

  describe(): string {
    if (!this.values.length) return this.completed ? 'it completed without a value' : 'nothing arrived';
    const shown = this.values.slice(0, 5).map((v) => `next(${show(v)})`);
    if (this.values.length > 5) shown.push(`… ${this.values.length} values in all`);
    return `received ${shown.join(', ')}${this.completed ? ', then completion' : ', no completion'}`;
  }
}

function observe<T>(
  source: () => Observable<T>,
  ms: number,
  what: string,
  settle: (arrivals: Arrivals, outcome: { error?: unknown }) => { value?: unknown; error?: unknown },
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const arrivals = new Arrivals();
    let finished = false;
    let unsubscribe = () => {};
    const finish = (outcome: { error?: unknown }) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      unsubscribe();
      const r = settle(arrivals, outcome);
      if ('error' in r) reject(r.error);
      else resolve(r.value);
    };
    const timer = setTimeout(() => {
      if (finished) return;
      finished = true;
      unsubscribe();
      reject(new TimeoutError(`timed out after ${ms} ms: ${what} — ${arrivals.describe()}`));
    }, ms);
    try {
      const sub = source().subscribe({
        next: (v) => void arrivals.values.push(v),
        error: (error) => finish({ error }),
        complete: () => {
          arrivals.completed = true;
          finish({});
        },
      });
      if (finished) sub.unsubscribe();
      else unsubscribe = () => sub.unsubscribe();
    } catch (error) {
      finish({ error });
    }
  });
}

/** The error of a failed request, with what it was and what had arrived before it failed. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    message: string,
    /** The error the client's Observable failed with, unchanged. */
    readonly error: unknown,
  ) {
    super(message);
  }
}

/** Waits until the emit is handed to the transport (emit is hot; its Observable completes once sent). */
export const sent = (emit$: Observable<unknown>, what = 'emit', ms = 5_000) => withTimeout(lastValueFrom(emit$, { defaultValue: undefined }), ms, what);

/** `send` bounded by `ms`: resolves with the last value once the reply completes; says what arrived otherwise. */
export function request<T = unknown>(client: ClientProxy, pattern: unknown, data: unknown, ms = 5_000, what = `reply to ${show(pattern)}`): Promise<T> {
  return observe(
    () => client.send<T>(pattern, data),
    ms,
    what,
    (arrivals, outcome) => {
      if ('error' in outcome)
        return {
          error: new RequestError(
            `${what} failed: ${errorText(outcome.error)}${arrivals.values.length ? ` (after ${arrivals.describe()})` : ''}`,
            outcome.error,
          ),
        };
      if (!arrivals.values.length) return { error: new Error(`${what}: ${arrivals.describe()}`) };
      return { value: arrivals.values.at(-1) };
    },
  ) as Promise<T>;
}

/** Every value of a reply stream, bounded by `ms`; on a timeout or an error it says what had arrived. */
export function collect<T>(source: Observable<T>, ms: number, what: string): Promise<T[]> {
  return observe(
    () => source,
    ms,
    what,
    (arrivals, outcome) =>
      'error' in outcome
        ? { error: new RequestError(`${what} failed: ${errorText(outcome.error)} (${arrivals.describe()})`, outcome.error) }
        : { value: arrivals.values },
  ) as Promise<T[]>;
}

/** The error an Observable fails with (fails itself if it completes, saying with what). */
export function errorOf(source: Observable<unknown>, ms: number, what: string): Promise<any> {
  return observe(
    () => source,
    ms,
    what,
    (arrivals, outcome) => ('error' in outcome ? { value: outcome.error } : { error: new Error(`expected ${what} to fail, but ${arrivals.describe()}`) }),
  );
}
