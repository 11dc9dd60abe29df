// The conformance scenarios as jest tests, in a CommonJS spec: describeConformance declares them at once.
const { describeConformance } = require('@nest-transports/conformance/jest');
const memory = require('../memory.conformance.js');

describeConformance(memory);
