export * from './descriptor.js';
export type { Scenario, PatternName } from './scenario.js';
export { scenarios } from './scenarios/index.js';
export { catalogueMarkdown } from './catalogue.js';
export { DescriptorError, descriptorProblems, validateDescriptor } from './validate.js';
export { Rig, onMessage, onEvent, request, collect, errorOf, namespaced, serverInstance, RequestError, type HandlerSpec } from './rig.js';
export {
  runScenario,
  runTransport,
  notApplicableReason,
  skippedRow,
  ProcessExitError,
  RULES,
  DEFAULT_TIMEOUT_MS,
  scenarioLimit,
  timeScale,
  type RunOptions,
  type ScenarioResult,
  type TransportReport,
} from './runner.js';
export { buildReport, markdownReport, textMatrix, claimedFailures, reportBaseName, type ConformanceReport } from './report.js';
export { versions, findPackage, nestMajor, type Versions } from './environment.js';
export { withTimeout, deferred, until, show, TimeoutError } from './util.js';
