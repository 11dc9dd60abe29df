import { register } from 'node:module';
import type { TargetModule } from '../types.js';

/**
 * What tracing costs: the `ws` row with `@opentelemetry/api` absent (`none`, what an application
 * without the optional peer runs), loaded with no SDK registered (`api`, the zero-cost claim), or
 * with the SDK tracing every message (`sdk`: sampling on, batched export to an exporter that drops
 * the spans, so that what is measured is making and propagating spans, not shipping them).
 * Each mode is set up before the transport is imported: `@nest-transports/shared` looks for the API
 * as it loads.
 */
export async function otelWsTarget(mode: 'none' | 'api' | 'sdk'): Promise<TargetModule> {
  resolveThroughHook(mode === 'none');
  const resolvable = await import('@opentelemetry/api').then(
    () => true,
    () => false,
  );
  if (resolvable !== (mode !== 'none')) throw new Error(`@opentelemetry/api is ${resolvable ? '' : 'not '}resolvable: the row would not measure what it says`);
  if (mode === 'sdk') await registerSdk();
  return (await import('./ws.js')).wsTarget('json');
}

/**
 * Registers a module resolution hook in every mode, so that the three rows' processes have the same
 * shape (the hook runs on a thread of its own); with `hide`, it makes `@opentelemetry/api`
 * unresolvable, as in an application that does not install it.
 */
function resolveThroughHook(hide: boolean): void {
  const hook = `export async function resolve(specifier, context, next) {
    if (${hide} && (specifier === '@opentelemetry/api' || specifier.startsWith('@opentelemetry/api/')))
      throw Object.assign(new Error("Cannot find package '" + specifier + "'"), { code: 'ERR_MODULE_NOT_FOUND' });
    return next(specifier, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`, import.meta.url);
}

async function registerSdk(): Promise<void> {
  const { context, propagation, trace } = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { CompositePropagator, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const exporter = {
    export: (_spans: unknown[], done: (result: { code: number }) => void) => done({ code: ExportResultCode.SUCCESS }),
    shutdown: async () => undefined,
  };
  trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new BatchSpanProcessor(exporter)] }));
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}
