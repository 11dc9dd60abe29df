import type { DynamicModule, Type } from '@nestjs/common';
import type { ClientProxy as NestClientProxy, Deserializer, MicroserviceOptions, Serializer } from '@nestjs/microservices';
import { validateDescriptor } from './validate.js';

/** Any Nest client: built-in clients narrow the status and event types. `setOnDispatchHook` is Nest 12 only. */
export type ClientProxy = Pick<NestClientProxy<any, any>, 'send' | 'emit' | 'connect' | 'close' | 'status'> &
  Partial<Pick<NestClientProxy<any, any>, 'setOnDispatchHook'>>;

export { CAPABILITIES, type Capability } from './capabilities.js';
import type { Capability } from './capabilities.js';

export type Outcome = 'pass' | 'fail' | 'n/a' | 'skipped';

export type Availability = { available: true; description: string; url?: string } | { available: false; reason: string };

/** The patterns a scenario run uses, namespaced: strings `${ns}.name`, object patterns `{ ns, ... }`. */
export interface RunPatterns {
  /** Patterns of `@MessagePattern` handlers, which the client `send()`s to (including ones without a handler). */
  messages: unknown[];
  /** Patterns of `@EventPattern` handlers, which the client `emit()`s to (including ones without a handler). */
  events: unknown[];
}

/** Per scenario run: a unique namespace, free ports and the resolved backend address. */
export interface RunEnv {
  /** Unique per scenario run: prefix every pattern, queue, topic with it. */
  ns: string;
  /** A free 127.0.0.1 port reserved for this run's server (socket transports). */
  port: number;
  /** A second free port, for a second server or for "nothing listens here". */
  sparePort: number;
  /** The backend address from `resolve()`, when there is one. */
  url?: string;
  /**
   * The id of the scenario this run serves (e.g. `ev.order`), for a descriptor that provisions one
   * scenario differently (a FIFO queue, an ordering key): say so in `differences`.
   */
  scenario: string;
  /** Every pattern this run sends or emits to, by kind: create topics/queues for them in `prepare()`. */
  patterns: RunPatterns;
}

/** Serializer/deserializer overrides a scenario passes to `server()` / `client()` (ser.custom). */
export interface CodecOverrides {
  serializer?: Serializer;
  deserializer?: Deserializer;
}

/** What `NestFactory.createMicroservice` takes: `{ transport, options }` or `{ strategy }`. */
export type ServerOptions = MicroserviceOptions;

/** How the transport behaves when a client sends before any server listens. */
export type ClientFirstBehaviour =
  /** The request waits (queue, broker) and is answered once the server is up. */
  | 'queues'
  /** The request fails fast with a clear error. */
  | 'errors'
  /** The request is dropped by the broker: no answer until the client's own timeout. */
  | 'drops';

export type HandlerKind = 'message' | 'event';

/**
 * A client registered in a Nest app, as users get it: `ClientsModule.register([{ name, customClass, options }])`
 * (or any module providing it). The suite creates an application context with `imports`, lets it run
 * its lifecycle hooks (`onModuleInit`, `onApplicationBootstrap`), takes the client by `token`, and
 * closes the context (so `onApplicationShutdown`) when the scenario ends.
 */
export interface HostedClient {
  imports: Array<Type<unknown> | DynamicModule>;
  token: string | symbol | Type<unknown>;
}

export interface TransportDescriptor {
  name: string;
  kind: 'custom' | 'builtin';
  /** Human text, e.g. "Redis 7 pub/sub". */
  backend: string;
  capabilities: Capability[];
  /** Documented behavioural differences, scenario id → text. Keys must be catalogue ids. Shown in the report. */
  differences?: Record<string, string>;
  /** Scenarios that do not fit this transport's model even though it claims the capability: id → reason. */
  notApplicable?: Record<string, string>;
  /** Notes about the transport as a whole (setup it needs, how it was configured), shown in the report. */
  notes?: string[];
  /** Is the backend reachable? Called once per run of the suite for this transport. */
  resolve(): Promise<Availability>;
  /** Runs before each scenario (inside its time limit): create topics, queues… for `env.ns` / `env.patterns`. */
  prepare?(env: RunEnv): Promise<void>;
  /**
   * Runs after each scenario, once its servers and clients are closed (also after a failure or a
   * timeout): delete what `prepare()` and the transport created for `env.ns`. An error fails the scenario.
   */
  cleanup?(env: RunEnv): Promise<void>;
  /** Runs once after the last scenario of the run: release what the descriptor holds (admin clients, emulators). */
  cleanupRun?(): Promise<void>;
  /** Options for `NestFactory.createMicroservice(Module, options)`. */
  server(env: RunEnv, codecs?: CodecOverrides): ServerOptions;
  /** A fresh client for this run (give `client` or `hostedClient`). */
  client?(env: RunEnv, codecs?: CodecOverrides): ClientProxy;
  /** The client as a Nest app hosts it (connected by the app's lifecycle hooks); instead of `client`. */
  hostedClient?(env: RunEnv, codecs?: CodecOverrides): HostedClient;
  /** A client pointed at an address where nothing answers (life.unreachable). */
  unreachableClient?(env: RunEnv): ClientProxy;
  /** life.client-first: what the transport does with a request sent before the server listens. */
  clientFirst?: ClientFirstBehaviour;
  /**
   * rr.no-handler: Nest's "no matching message handler" error by default; `error` with another
   * message (the broker reports no subscriber); or `unanswered` (nobody subscribes to the pattern,
   * so only the client's timeout ends the request).
   */
  noHandler?: { behaviour: 'error'; message: RegExp } | { behaviour: 'unanswered' };
  /** life.status: the last status after close() (default 'disconnected'); null = no status is emitted on close. */
  statusAfterClose?: { client?: string | null; server?: string | null };
  /** Payload sizes in bytes: `large` must pass, `tooLarge` must fail with a clear error. */
  payload?: { large: number; tooLarge?: number; tooLargeError?: RegExp };
  /** ctx.type: check `@Ctx()`; return what the scenario asserts (throw on a wrong context). */
  checkContext?(ctx: unknown, pattern: unknown): void;
  /** ctx.metadata: attach headers to an outgoing message and read them back from `@Ctx()`. */
  metadata?: {
    send(client: ClientProxy, data: unknown, headers: Record<string, string>): unknown;
    read(ctx: unknown): Record<string, string> | undefined;
  };
  /**
   * ser.custom wraps the codecs the transport uses by default (it asks the server and client
   * instances for them). Only where Nest hands the serializers something else than the packet:
   * `serializes: 'payload'` (Kafka's client serializes a request's `data`, its server a reply's
   * `response`).
   */
  codecs?: { serializes?: 'packet' | 'payload' };
  /**
   * Maps a scenario's logical pattern (already namespaced string or object) to the handler pattern
   * and transport argument of `@MessagePattern` (kind `message`) or `@EventPattern` (kind `event`).
   */
  handlerPattern?(pattern: unknown, kind: HandlerKind): { pattern: unknown; transport?: unknown };
  /**
   * Maps each value the client's `send()` emits to the handler's value, for a transport whose client
   * wraps replies in an envelope (`{ data, headers }` → `data`). Errors are not mapped.
   */
  reply?(received: unknown): unknown;
  /** life.slow-reader: flood the server with requests over a connection that never reads. */
  slowReader?(env: RunEnv, pattern: unknown): Promise<SlowReaderProbe>;
  /**
   * Whether the CI machine offers this backend, so that under CI=true an unavailable backend fails
   * instead of being skipped. Default: always.
   */
  requiredInCi?(env: NodeJS.ProcessEnv): boolean;
  /**
   * How a top-level payload or reply value arrives on the other side with the transport's default
   * codecs, where that is not a JSON round trip (Kafka: numbers and booleans arrive as strings).
   * Scenarios assert against `rig.wire(expected)`: exact values still, the transport's documented
   * ones. Nested values are never touched. State it in `differences`.
   */
  wire?(value: unknown): unknown;
  /** Adapts every handler's data and result to the transport's wire types (gRPC envelopes). */
  adaptHandler?(handle: (data: any, ctx: any) => unknown): (data: any, ctx: any) => unknown;
  /** Per-scenario time limit override in ms (defaults to the runner's). */
  timeoutMs?: number;
}

export interface SlowReaderProbe {
  /** Send `count` requests whose replies are large, without ever reading them. */
  flood(count: number, replyBytes: number): Promise<void>;
  /** Bytes the server holds for this peer (its send buffer). */
  serverBufferedBytes(): number;
  close(): Promise<void>;
}

/**
 * Checks a descriptor (required fields, capability names, scenario ids in `differences` and
 * `notApplicable`) and returns it; throws one error listing every problem.
 */
export function defineTransport<T extends TransportDescriptor>(descriptor: T): T {
  validateDescriptor(descriptor);
  return descriptor;
}
