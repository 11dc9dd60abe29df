export { tracingReady } from './ready.js';
export * from './spans.js';
