import type * as Api from '@opentelemetry/api';
import { activeApi } from './otel.js';

/** The W3C Trace Context and Baggage fields a message carries (`traceparent`, `tracestate`, `baggage`). */
export type TraceFields = Record<string, string>;

/** Names of the fields a transport may have to make room for, in the order they matter. */
export const TRACE_FIELD_NAMES = ['traceparent', 'tracestate', 'baggage'] as const;

/** Instrumentation scope of every span the transports make. */
export const TRACER_NAME = '@nest-transports';

type AttributeValue = string | number | boolean | undefined;
export type SpanFacts = Record<string, AttributeValue>;

export interface SendInfo {
  /** `messaging.system`: "aws_sqs", "gcp_pubsub", "nats", "websocket"… */
  system: string;
  /** `messaging.destination.name`: the queue, topic, subject or URL the message goes to. */
  destination: string;
  /** The Nest pattern (route) of the message. */
  pattern: string;
  /** A request (`send()`, a CLIENT span until its last reply) or an event (`emit()`, a PRODUCER span). */
  request: boolean;
  /** Correlation id of a request (`messaging.message.conversation_id`). */
  correlationId?: string;
  /** Extra attributes (`server.address`, the body size…). */
  attributes?: SpanFacts;
}

export interface ProcessInfo {
  system: string;
  /** Where the message was taken from (a queue, a subscription, a stream consumer, a URL). */
  source: string;
  /** A request (a SERVER span until its last reply) or an event (a CONSUMER span). */
  request: boolean;
  messageId?: string;
  /** Delivery attempt, 1 on first delivery. */
  attempt?: number;
  attributes?: SpanFacts;
}

/** One span of a message; every method is safe to call more than once and after `end()`. */
export interface MessageSpan {
  /** The fields to carry with the message, holding this span's context (empty when there is no propagator). */
  readonly fields: TraceFields;
  set(attributes: SpanFacts): void;
  /** Records an error (exception event, status ERROR, `error.type`). */
  fail(error: unknown): void;
  /** What became of a received message: ack, retry (nack), dead-letter, with the reason. */
  outcome(action: string, reason?: string): void;
  /** Runs `fn` with this span's context active: the handler's own spans and log lines join the trace. */
  run<T>(fn: () => T): T;
  end(): void;
}

const getter: Api.TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const exact = carrier[key];
    if (exact !== undefined) return exact;
    // Headers may arrive in any case (NATS, MQTT user properties).
    for (const name of Object.keys(carrier)) if (name.toLowerCase() === key) return carrier[name];
    return undefined;
  },
};

/**
 * A producer (event) or client (request) span around one send, per OpenTelemetry's messaging
 * conventions; undefined when tracing is off (no `@opentelemetry/api`, or no SDK registered).
 * Carry `span.fields` with the message and `end()` it when the send (or the request) is over.
 */
export function startSendSpan(info: SendInfo): MessageSpan | undefined {
  const otel = activeApi();
  if (!otel) return undefined;
  const span = begin(otel, 'send', info.destination, info.request ? otel.SpanKind.CLIENT : otel.SpanKind.PRODUCER, otel.context.active(), {
    'messaging.system': info.system,
    'messaging.message.conversation_id': info.correlationId,
    'nest.pattern': info.pattern,
    ...info.attributes,
  });
  otel.propagation.inject(span.context, span.fields);
  return span;
}

/**
 * A consumer (event) or server (request) span around one handling of a received message,
 * parented by the context its producer put in `carrier` (a foreign producer's `traceparent`
 * works the same); each delivery of a message is its own span of the same trace.
 */
export function startProcessSpan(info: ProcessInfo, carrier: Readonly<Record<string, string>> | undefined): MessageSpan | undefined {
  const otel = activeApi();
  if (!otel) return undefined;
  const parent = carrier ? otel.propagation.extract(otel.ROOT_CONTEXT, carrier, getter) : otel.ROOT_CONTEXT;
  return begin(otel, 'process', info.source, info.request ? otel.SpanKind.SERVER : otel.SpanKind.CONSUMER, parent, {
    'messaging.system': info.system,
    'messaging.message.id': info.messageId,
    'nest.delivery_attempt': info.attempt,
    ...info.attributes,
  });
}

/** A span named `<operation> <destination>` as the conventions name them. */
function begin(otel: typeof Api, operation: 'send' | 'process', destination: string, kind: Api.SpanKind, parent: Api.Context, facts: SpanFacts): Span {
  const attributes = clean({
    'messaging.operation.name': operation,
    'messaging.operation.type': operation,
    'messaging.destination.name': destination,
    ...facts,
  });
  const span = otel.trace.getTracer(TRACER_NAME).startSpan(`${operation} ${destination}`, { kind, attributes }, parent);
  return new Span(otel, span, otel.trace.setSpan(parent, span), {});
}

class Span implements MessageSpan {
  private ended = false;

  constructor(
    private readonly otel: typeof Api,
    private readonly span: Api.Span,
    readonly context: Api.Context,
    readonly fields: TraceFields,
  ) {}

  set(attributes: SpanFacts): void {
    if (!this.ended) this.span.setAttributes(clean(attributes));
  }

  fail(error: unknown): void {
    if (this.ended) return;
    const { type, message } = describe(error);
    this.span.recordException(error instanceof Error ? error : { name: type, message });
    this.span.setAttribute('error.type', type);
    this.span.setStatus({ code: this.otel.SpanStatusCode.ERROR, message });
  }

  outcome(action: string, reason?: string): void {
    this.set({ 'nest.outcome': action, 'nest.outcome.reason': reason });
  }

  run<T>(fn: () => T): T {
    return this.otel.context.with(this.context, fn);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end();
  }
}

function clean(attributes: SpanFacts): Api.Attributes {
  const out: Api.Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value;
  return out;
}

/** An error's type and message: an Error, or the error object a Nest reply carries. */
function describe(error: unknown): { type: string; message: string } {
  if (error instanceof Error) return { type: error.constructor?.name || error.name || 'Error', message: error.message };
  if (typeof error === 'object' && error !== null) {
    const { message, status, code } = error as { message?: unknown; status?: unknown; code?: unknown };
    const type = typeof code === 'string' ? code : typeof status === 'string' ? status : '_OTHER';
    return { type, message: typeof message === 'string' ? message : JSON.stringify(error).slice(0, 500) };
  }
  return { type: '_OTHER', message: String(error) };
}
