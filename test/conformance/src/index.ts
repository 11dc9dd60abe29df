export * from './descriptor.js';
export type { Scenario } from './scenario.js';
export { scenarios } from './scenarios/index.js';
export { Rig, onMessage, onEvent, request, collect, errorOf, type HandlerSpec } from './rig.js';
export { runScenario, runTransport, notApplicableReason, type ScenarioResult, type TransportReport } from './runner.js';
export { buildReport, markdownReport, textMatrix, claimedFailures, type ConformanceReport } from './report.js';
export { withTimeout, deferred, until } from './util.js';
