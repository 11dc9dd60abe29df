import { headers as natsHeaders } from '@nats-io/transport-node';
import type { INestMicroservice } from '@nestjs/common';
import { MqttRecordBuilder, NatsRecordBuilder, RmqRecordBuilder } from '@nestjs/microservices';
import { traceClient, traceHeaders, traceServer } from '@nest-transports/shared';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { defer } from 'rxjs';
import type { AnyClient } from './peers.js';
import type { TransportName } from './transports.js';

let started = false;

/**
 * Registers the OpenTelemetry SDK for this process, once: every trace sampled, W3C Trace Context
 * and Baggage propagation, and async context, so that a handler (and its log lines) runs in the
 * trace of the message it handles. Pass your exporter's processor (e.g. a `BatchSpanProcessor`
 * over an OTLP exporter) to ship the spans somewhere.
 */
export function startTracing(spanProcessors: SpanProcessor[] = []): void {
  if (started) return;
  started = true;
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors }));
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** The trace id of the active span (undefined outside any). */
export const activeTraceId = (): string | undefined => trace.getActiveSpan()?.spanContext().traceId;

/** Runs `fn` as the root span of a new trace; returns its result and the trace id. */
export function inNewTrace<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; traceId: string }> {
  return trace.getTracer('saga').startActiveSpan(name, { root: true }, async (span) => {
    try {
      return { result: await fn(), traceId: span.spanContext().traceId };
    } finally {
      span.end();
    }
  });
}

const BUILTINS: readonly TransportName[] = ['tcp', 'redis', 'nats', 'mqtt', 'rmq'];

/**
 * Nest's built-in servers trace through their processing hooks (Nest 12); ours trace on their own.
 * Call before `listen()`.
 */
export function traceBuiltinServer(transport: TransportName, app: INestMicroservice): void {
  if (BUILTINS.includes(transport)) traceServer((app as unknown as { serverInstance?: unknown }).serverInstance);
}

/**
 * A built-in client that carries the caller's trace context: in Nest 12 packet metadata (TCP,
 * Redis), or in the headers of a record (NATS headers, RabbitMQ headers, MQTT 5 user properties).
 * Our clients carry it on their own and are returned as they are.
 */
export function traceBuiltinClient(transport: TransportName, client: AnyClient): AnyClient {
  if (transport === 'tcp' || transport === 'redis') {
    traceClient(client);
    return client;
  }
  const record = RECORDS[transport];
  if (!record) return client;
  const carry = (data: unknown) => {
    const fields = traceHeaders();
    return Object.keys(fields).length > 0 ? record(data, fields) : data;
  };
  return {
    connect: () => client.connect(),
    close: () => client.close(),
    // send() is cold: the headers are those of the context that subscribes.
    send: (pattern, data) => defer(() => client.send(pattern, carry(data))),
    emit: (pattern, data) => client.emit(pattern, carry(data)),
  } as AnyClient;
}

const RECORDS: Partial<Record<TransportName, (data: unknown, fields: Record<string, string>) => unknown>> = {
  nats: (data, fields) => {
    const headers = natsHeaders();
    for (const [key, value] of Object.entries(fields)) headers.set(key, value);
    return new NatsRecordBuilder(data).setHeaders(headers).build();
  },
  rmq: (data, fields) => new RmqRecordBuilder(data).setOptions({ headers: fields }).build(),
  mqtt: (data, fields) => new MqttRecordBuilder(data).setProperties({ userProperties: fields }).build(),
};
