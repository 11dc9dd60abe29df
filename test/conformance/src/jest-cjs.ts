// The `require` entry of `@nest-transports/conformance/jest`: a CommonJS spec file cannot await, so
// `describeConformance` declares its tests at once there (see describeConformanceSync).
export { describeConformanceSync as describeConformance, describeConformanceSync, type JestOptions } from './jest.js';
