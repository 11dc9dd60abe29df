import 'reflect-metadata';
import { Module, type INestMicroservice, type PipeTransform, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { lastValueFrom, type Observable } from 'rxjs';
import type { ClientProxy, CodecOverrides, RunEnv, TransportDescriptor } from './descriptor.js';
import { TimeoutError, withTimeout } from './util.js';

export interface HandlerSpec {
  kind: 'message' | 'event';
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
    const { pattern, transport } = t.handlerPattern ? t.handlerPattern(spec.pattern) : { pattern: spec.pattern, transport: undefined };
    const decorate = spec.kind === 'event' ? EventPattern(pattern as any, transport as any) : MessagePattern(pattern as any, transport as any);
    decorate(proto, key, Object.getOwnPropertyDescriptor(proto, key)!);
  });
  class ConformanceModule {}
  Module({ controllers: [ConformanceController] })(ConformanceModule);
  return ConformanceModule;
}

const LISTEN_MS = 10_000;
const CLOSE_MS = 5_000;

/** One scenario run: starts servers and clients for a descriptor and closes all of them at the end. */
export class Rig {
  private readonly apps = new Set<INestMicroservice>();
  private readonly clients = new Set<ClientProxy>();

  constructor(
    readonly transport: TransportDescriptor,
    readonly env: RunEnv,
  ) {}

  /** A pattern unique to this run. */
  p(name: string): string {
    return `${this.env.ns}.${name}`;
  }

  /** `value` as the transport delivers it (its documented `wire` mapping; unchanged by default). */
  wire<T>(value: T): unknown {
    return this.transport.wire ? this.transport.wire(value) : value;
  }

  /** Detecting a duplicate needs a quiet period after the expected messages arrived: nothing else signals it. */
  settle(ms = 250): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Creates the app without listening (to listen later, or to inspect it). */
  async createServer(handlers: HandlerSpec[], opts: { codecs?: CodecOverrides; env?: RunEnv } = {}): Promise<INestMicroservice> {
    const module = buildModule(handlers, this.transport);
    const options = this.transport.server(opts.env ?? this.env, opts.codecs);
    const app = await NestFactory.createMicroservice(module, { ...options, logger: false } as any);
    this.apps.add(app);
    return app;
  }

  async listen(app: INestMicroservice): Promise<INestMicroservice> {
    await withTimeout(app.listen(), LISTEN_MS, `${this.transport.name} server listen`);
    return app;
  }

  async server(handlers: HandlerSpec[], opts: { codecs?: CodecOverrides; env?: RunEnv } = {}): Promise<INestMicroservice> {
    return this.listen(await this.createServer(handlers, opts));
  }

  client(opts: { codecs?: CodecOverrides; env?: RunEnv } = {}): ClientProxy {
    return this.track(this.transport.client(opts.env ?? this.env, opts.codecs));
  }

  track(client: ClientProxy): ClientProxy {
    this.clients.add(client);
    return client;
  }

  async closeServer(app: INestMicroservice): Promise<void> {
    this.apps.delete(app);
    if (this.transport.beforeServerClose) await withTimeout(this.transport.beforeServerClose(app), CLOSE_MS, `${this.transport.name} settling before close`);
    await withTimeout(app.close(), CLOSE_MS, `${this.transport.name} server close`);
  }

  async closeClient(client: ClientProxy): Promise<void> {
    this.clients.delete(client);
    await withTimeout(Promise.resolve(client.close()), CLOSE_MS, `${this.transport.name} client close`);
  }

  /** Closes everything still open; errors are collected, not thrown, so one bad close cannot hide others. */
  async dispose(): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (const client of [...this.clients]) await this.closeClient(client).catch((err) => errors.push(err));
    for (const app of [...this.apps]) await this.closeServer(app).catch((err) => errors.push(err));
    return errors;
  }
}

/** `send` bounded by `ms`: resolves with the last value once the reply completes. */
export function request<T = unknown>(client: ClientProxy, pattern: unknown, data: unknown, ms = 5_000): Promise<T> {
  return withTimeout(lastValueFrom(client.send<T>(pattern, data)), ms, `reply to ${JSON.stringify(pattern)}`);
}

export function collect<T>(source: Observable<T>, ms: number, what: string): Promise<T[]> {
  return withTimeout(
    new Promise<T[]>((resolve, reject) => {
      const values: T[] = [];
      source.subscribe({ next: (v) => values.push(v), error: reject, complete: () => resolve(values) });
    }),
    ms,
    what,
  );
}

/** The error an Observable fails with (fails itself if it completes). */
export async function errorOf(source: Observable<unknown>, ms: number, what: string): Promise<any> {
  try {
    const value = await withTimeout(lastValueFrom(source), ms, what);
    throw new Error(`expected ${what} to fail, got ${JSON.stringify(value)}`);
  } catch (err) {
    if (err instanceof TimeoutError) throw err;
    if (err instanceof Error && err.message.startsWith(`expected ${what} to fail`)) throw err;
    return err;
  }
}
