import assert from 'node:assert/strict';
import type * as Api from '@opentelemetry/api';
import type { Scenario } from '../scenario.js';
import { onMessage, serverInstance } from '../rig.js';

const SDK = ['@opentelemetry/api', '@opentelemetry/sdk-trace-base', '@opentelemetry/core', '@opentelemetry/context-async-hooks'];

/** Loads a named export of an optional package (ESM, or CommonJS through `default`). */
async function load<T>(name: string, key: string): Promise<T> {
  const module = (await import(name)) as Record<string, unknown> & { default?: Record<string, unknown> };
  return (module[key] ?? module.default?.[key]) as T;
}

/**
 * Registers the real OpenTelemetry SDK (W3C propagator, AsyncLocalStorage context) for one
 * scenario, unless the process already has one; `unregister()` removes only what it registered.
 */
async function registerSdk() {
  const api = (await import('@opentelemetry/api')) as typeof Api & { default?: typeof Api };
  const otel = api.trace ? api : api.default!;
  const Provider = await load<new () => { shutdown(): Promise<void> }>('@opentelemetry/sdk-trace-base', 'BasicTracerProvider');
  const Propagator = await load<new () => Api.TextMapPropagator>('@opentelemetry/core', 'W3CTraceContextPropagator');
  const Manager = await load<new () => Api.ContextManager>('@opentelemetry/context-async-hooks', 'AsyncLocalStorageContextManager');
  const provider = new Provider();
  const mine = {
    trace: otel.trace.setGlobalTracerProvider(provider as unknown as Api.TracerProvider),
    propagation: otel.propagation.setGlobalPropagator(new Propagator()),
    context: otel.context.setGlobalContextManager(new Manager().enable()),
  };
  return {
    otel,
    async unregister() {
      if (mine.trace) {
        await provider.shutdown();
        otel.trace.disable();
      }
      if (mine.propagation) otel.propagation.disable();
      if (mine.context) otel.context.disable();
    },
  };
}

export const tracing: Scenario[] = [
  {
    id: 'trace.propagation',
    title: "a trace crosses: the handler runs in the caller's trace",
    needs: ['requestResponse', 'metadata'],
    patterns: { messages: ['traced'] },
    requires: [...SDK, '@nest-transports/shared'],
    sends:
      '`traced` ← `1` inside a root span of the OpenTelemetry SDK. Our transports propagate on their own; a built-in gets `traceServer(server)` and the caller’s `traceHeaders()` through the descriptor’s `metadata.send` (Nest 12 packet metadata, NATS/RabbitMQ/Kafka headers, MQTT 5 user properties)',
    asserts: 'the handler’s active span (what its log lines would print) has the root span’s trace id',
    async run(rig) {
      const sdk = await registerSdk();
      try {
        const shared = await import('@nest-transports/shared');
        await shared.tracingReady;
        const builtin = rig.transport.kind === 'builtin';
        const pattern = rig.p('traced');
        const app = await rig.createServer([onMessage(pattern, () => sdk.otel.trace.getActiveSpan()?.spanContext().traceId ?? 'no active span')]);
        if (builtin) assert.ok(shared.traceServer(serverInstance(app)), 'the server has processing hooks (Nest 12)');
        await rig.listen(app);
        const client = await rig.client();
        const { got, traceId } = await sdk.otel.trace.getTracer('conformance').startActiveSpan('caller', async (root) => {
          try {
            const data = builtin ? rig.transport.metadata!.send(client, 1, shared.traceHeaders()) : 1;
            return { got: await rig.request(client, pattern, data), traceId: root.spanContext().traceId };
          } finally {
            root.end();
          }
        });
        assert.equal(got, traceId, "the handler ran in the caller's trace");
      } finally {
        await sdk.unregister();
      }
    },
  },
];
