import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { tracingReady } from '@nest-transports/shared';
import { within } from '@nest-transports/backends';

/**
 * The real OpenTelemetry SDK, registered globally for a test file: an in-memory exporter
 * receives every ended span. `unregister()` puts the no-op API back.
 */
export class TestSdk {
  readonly exporter = new InMemorySpanExporter();
  readonly provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.exporter)] });
  private readonly contextManager = new AsyncLocalStorageContextManager();

  async register(): Promise<this> {
    await tracingReady;
    trace.setGlobalTracerProvider(this.provider);
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
    context.setGlobalContextManager(this.contextManager.enable());
    return this;
  }

  async unregister(): Promise<void> {
    await this.provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  }

  get spans(): ReadableSpan[] {
    return this.exporter.getFinishedSpans();
  }

  reset(): void {
    this.exporter.reset();
  }

  /** Waits (bounded) until the finished spans satisfy `check`; returns them. */
  async until(check: (spans: ReadableSpan[]) => boolean, what: string, ms = 15_000): Promise<ReadableSpan[]> {
    const deadline = Date.now() + ms;
    while (!check(this.spans)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; spans: ${describeSpans(this.spans)}`);
      await within(new Promise((r) => setTimeout(r, 20)), 1000, 'a tick');
    }
    return this.spans;
  }
}

export const tracer = () => trace.getTracer('test');

/** Runs `fn` in a fresh root span (ended after it), returning its result and the span. */
export async function inRootSpan<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; root: Span }> {
  return tracer().startActiveSpan(name, async (root) => {
    try {
      return { result: await fn(), root };
    } finally {
      root.end();
    }
  });
}

/** The trace id of the active span (what a log line of the handler would print). */
export const activeTraceId = (): string | undefined => trace.getActiveSpan()?.spanContext().traceId;

export const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
export const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
export const traceOf = (span: ReadableSpan): string => span.spanContext().traceId;

export const byName = (spans: ReadableSpan[], name: string, kind?: SpanKind) => spans.filter((s) => s.name === name && (kind === undefined || s.kind === kind));

export { SpanKind, SpanStatusCode };

export function describeSpans(spans: ReadableSpan[]): string {
  return JSON.stringify(
    spans.map((s) => ({ name: s.name, kind: SpanKind[s.kind], trace: traceOf(s).slice(0, 8), id: idOf(s).slice(0, 8), parent: parentOf(s)?.slice(0, 8) })),
  );
}
