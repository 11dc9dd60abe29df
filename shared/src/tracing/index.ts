export { tracingReady } from './ready.js';
export * from './spans.js';
export { carrierOf, traceClient, traceHeaders, traceServer } from './builtin.js';
