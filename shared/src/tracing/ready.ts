import { loadApi } from './otel.js';

/**
 * Settles once `@opentelemetry/api` is loaded or known to be absent (an optional peer); servers
 * and clients wait for it in `listen()`/`connect()`, so that the first message is traced too.
 */
export const tracingReady: Promise<void> = loadApi();
