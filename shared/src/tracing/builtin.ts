import { activeApi } from './otel.js';
import { type MessageSpan, startProcessSpan, type TraceFields } from './spans.js';

/**
 * The W3C fields (`traceparent`, `tracestate`, `baggage`) of the active context, to carry in a
 * message's headers on a transport that has them: `NatsRecordBuilder#setHeaders`, `RmqRecordBuilder`
 * `headers`, `MqttRecordBuilder` `userProperties` (MQTT 5), a Kafka message's `headers`. Empty when
 * tracing is off.
 */
export function traceHeaders(): TraceFields {
  const otel = activeApi();
  const fields: TraceFields = {};
  if (otel) otel.propagation.inject(otel.context.active(), fields);
  return fields;
}

interface DispatchingClient {
  setOnDispatchHook?: (hook: (packet: { metadata?: Record<string, string> }) => void) => void;
}

/**
 * Carries the caller's trace context in Nest 12 packet metadata on every `send()`/`emit()` of a
 * client (Nest's TCP and Redis transports carry it; so do ours, which propagate on their own).
 * Returns false on Nest 11, which has no dispatch hook.
 */
export function traceClient(client: unknown): boolean {
  const target = client as DispatchingClient;
  if (typeof target.setOnDispatchHook !== 'function') return false;
  target.setOnDispatchHook((packet) => {
    const fields = traceHeaders();
    if (Object.keys(fields).length > 0) packet.metadata = { ...packet.metadata, ...fields };
  });
  return true;
}

interface HookedServer {
  transportId?: unknown;
  setOnProcessingStartHook?: (hook: (transportId: unknown, context: unknown, done: () => Promise<unknown>) => Promise<unknown>) => void;
  setOnProcessingEndHook?: (hook: (transportId: unknown, context: unknown) => void) => void;
}

/** Nest's `Transport` enum, as `messaging.system` names it. */
const SYSTEMS = ['tcp', 'redis', 'nats', 'mqtt', 'grpc', 'rabbitmq', 'kafka'];

/**
 * Gives a Nest server (a built-in transporter, Nest 12) a consumer span per handled message,
 * parented by the trace context the message carries — Nest 12 packet metadata (TCP, Redis), NATS
 * headers, RabbitMQ headers, MQTT 5 user properties or Kafka headers — with the handler running
 * inside it. Returns false on Nest 11, which has no processing hooks.
 */
export function traceServer(server: unknown, options: { system?: string } = {}): boolean {
  const target = server as HookedServer;
  if (typeof target.setOnProcessingStartHook !== 'function' || typeof target.setOnProcessingEndHook !== 'function') return false;
  const open = new WeakMap<object, MessageSpan>();
  target.setOnProcessingStartHook((transportId, context, done) => {
    const carrier = carrierOf(context);
    const system = options.system ?? (typeof transportId === 'number' ? SYSTEMS[transportId] : undefined) ?? 'nest';
    const span = startProcessSpan({ system, source: sourceOf(context) ?? system, request: false }, carrier);
    if (!span || typeof context !== 'object' || context === null) return done();
    open.set(context, span);
    return span.run(done);
  });
  target.setOnProcessingEndHook((_transportId, context) => {
    if (typeof context !== 'object' || context === null) return;
    open.get(context)?.end();
    open.delete(context);
  });
  return true;
}

type AnyContext = Record<string, ((...args: unknown[]) => unknown) | undefined>;

/** The string headers a built-in transporter's context carries, whichever it is. */
export function carrierOf(context: unknown): Record<string, string> | undefined {
  if (typeof context !== 'object' || context === null) return undefined;
  const ctx = context as AnyContext;
  const metadata = ctx.getMetadata?.call(context); // TCP, Redis (Nest 12), and ours
  if (isRecord(metadata)) return strings(metadata);
  const headers = ctx.getHeaders?.call(context) as { keys?: () => string[]; get?: (k: string) => string } | undefined; // NATS
  if (headers && typeof headers.keys === 'function' && typeof headers.get === 'function') {
    return Object.fromEntries(headers.keys().map((key) => [key, headers.get!(key)]));
  }
  const message = ctx.getMessage?.call(context) as { properties?: { headers?: unknown }; headers?: unknown } | undefined;
  if (isRecord(message?.properties?.headers)) return strings(message.properties.headers); // RabbitMQ
  if (isRecord(message?.headers)) return strings(message.headers); // Kafka (Buffer values)
  const packet = ctx.getPacket?.call(context) as { properties?: { userProperties?: unknown } } | undefined; // MQTT 5
  if (isRecord(packet?.properties?.userProperties)) return strings(packet.properties.userProperties);
  return undefined;
}

function sourceOf(context: unknown): string | undefined {
  const ctx = context as AnyContext;
  for (const getter of ['getSubject', 'getTopic', 'getChannel', 'getPattern']) {
    const value = ctx[getter]?.call(context);
    if (typeof value === 'string') return value;
  }
  return undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function strings(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'string') out[key] = value;
    else if (value instanceof Uint8Array) out[key] = Buffer.from(value).toString('utf8');
    else if (Array.isArray(value) && typeof value[0] === 'string') out[key] = value[0];
  }
  return out;
}
