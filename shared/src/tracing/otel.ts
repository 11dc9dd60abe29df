import type * as Api from '@opentelemetry/api';

/**
 * `@opentelemetry/api`, loaded only when the application has it (an optional peer). Until the
 * import settles, and forever when it fails, tracing is off and nothing else is loaded.
 */
let api: typeof Api | undefined;
let noopProvider: unknown;

let loading: Promise<void> | undefined;

/** Loads `@opentelemetry/api` once; settles when it is loaded or known to be absent. */
export const loadApi = (): Promise<void> =>
  (loading ??= import('@opentelemetry/api').then(
    (loaded) => {
      // An ESM namespace of the CommonJS build may hold everything under `default`.
      api = ((loaded as { trace?: unknown }).trace ? loaded : (loaded as unknown as { default: typeof Api }).default) as typeof Api;
      noopProvider = new api.ProxyTracerProvider().getDelegate();
    },
    () => undefined,
  ));

/**
 * The API when a tracer provider or a propagator is registered; undefined otherwise, so a
 * transport skips all tracing work (no span, no context lookup, no carrier) — the zero-cost path.
 */
export function activeApi(): typeof Api | undefined {
  if (!api) return undefined;
  const provider = api.trace.getTracerProvider() as { getDelegate?: () => unknown };
  const delegate = provider.getDelegate?.();
  if (delegate !== undefined && (delegate === noopProvider || (delegate as object).constructor?.name === 'NoopTracerProvider')) {
    return api.propagation.fields().length > 0 ? api : undefined;
  }
  return api;
}
