import type { ClientProxy as NestClientProxy, Deserializer, MicroserviceOptions, Serializer } from '@nestjs/microservices';

/** Any Nest client: built-in clients narrow the status and event types. */
export type ClientProxy = Pick<NestClientProxy<any, any>, 'send' | 'emit' | 'connect' | 'close' | 'status' | 'setOnDispatchHook'>;

/** What a transport can claim. A scenario needing a capability the transport does not claim is `n/a`. */
export const CAPABILITIES = [
  'requestResponse',
  'events',
  'streaming',
  'objectPatterns',
  'metadata',
  'orderedEvents',
  'redelivery',
  'durable',
  'gracefulClose',
  'reconnect',
  'competingConsumers',
  /** Two servers on the same pattern each handle every event (pub/sub). */
  'fanOut',
  /** The transport enforces a payload limit and reports it clearly (rr.payload-too-large). */
  'payloadLimit',
  /** A peer that never reads its replies cannot grow the server's memory without bound. */
  'backpressure',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

export type Outcome = 'pass' | 'fail' | 'n/a' | 'skipped';

export type Availability = { available: true; description: string; url?: string } | { available: false; reason: string };

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
  scenario?: string;
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

export interface TransportDescriptor {
  name: string;
  kind: 'custom' | 'builtin';
  /** Human text, e.g. "Redis 7 pub/sub". */
  backend: string;
  capabilities: Capability[];
  /** Documented behavioural differences, scenario id → text. Shown in the report. */
  differences?: Record<string, string>;
  /** Scenarios that do not fit this transport's model even though it claims the capability: id → reason. */
  notApplicable?: Record<string, string>;
  /** Is the backend reachable? Called once per run of the suite for this transport. */
  resolve(): Promise<Availability>;
  /** Runs before each scenario (inside its time limit): create topics, queues… for `env.ns`. */
  prepare?(env: RunEnv): Promise<void>;
  /** Runs after each scenario, once its servers and clients are closed: delete what `prepare` made. */
  cleanup?(env: RunEnv): Promise<void>;
  /** Options for `NestFactory.createMicroservice(Module, options)`. */
  server(env: RunEnv, codecs?: CodecOverrides): ServerOptions;
  /** A fresh client for this run. */
  client(env: RunEnv, codecs?: CodecOverrides): ClientProxy;
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
  checkContext?(ctx: unknown, pattern: string): void;
  /** ctx.metadata: attach headers to an outgoing message and read them back from `@Ctx()`. */
  metadata?: {
    send(client: ClientProxy, data: unknown, headers: Record<string, string>): unknown;
    read(ctx: unknown): Record<string, string> | undefined;
  };
  /** Base codecs that the ser.custom scenario wraps (default: Nest's identity/incoming ones). */
  codecs?: {
    /**
     * What Nest hands the serializers: the whole packet (default), or only its payload — Kafka's
     * client serializes a request's `data` and its server a reply's `response` (into a Kafka message).
     */
    serializes?: 'packet' | 'payload';
    clientSerializer(): Serializer;
    clientDeserializer(): Deserializer;
    serverSerializer(): Serializer;
    serverDeserializer(): Deserializer;
  };
  /**
   * Maps a scenario's logical pattern (already namespaced string or object) to the handler pattern
   * and transport argument of `@MessagePattern`/`@EventPattern` (gRPC maps names to service methods).
   */
  handlerPattern?(pattern: unknown): { pattern: unknown; transport?: unknown };
  /** life.slow-reader: flood the server with requests over a connection that never reads. */
  slowReader?(env: RunEnv, pattern: string): Promise<SlowReaderProbe>;
  /**
   * Whether the CI machine offers this backend, so that under CI=true an unavailable backend fails
   * instead of being skipped. Default: always.
   */
  requiredInCi?(env: NodeJS.ProcessEnv): boolean;
  /**
   * Unhandled rejections the transport is known to leak (a documented defect, listed in `differences`):
   * tolerated instead of failing the scenario. Every other stray error fails it.
   */
  knownStrayErrors?: RegExp[];
  /**
   * How a top-level payload or reply value arrives on the other side with the transport's default
   * codecs, where that is not a JSON round trip (Kafka: numbers and booleans arrive as strings).
   * Scenarios assert against `rig.wire(expected)`: exact values still, the transport's documented
   * ones. Nested values are never touched. State it in `differences`.
   */
  wire?(value: unknown): unknown;
  /** Adapts every handler's data and result to the transport's wire types (gRPC envelopes). */
  adaptHandler?(handle: (data: any, ctx: any) => unknown): (data: any, ctx: any) => unknown;
  /**
   * Runs before the suite closes one of this transport's servers: waits for work the transport
   * must finish for its close to be clean (documented in `differences`).
   */
  beforeServerClose?(app: unknown): Promise<void>;
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

export function defineTransport(descriptor: TransportDescriptor): TransportDescriptor {
  return descriptor;
}
