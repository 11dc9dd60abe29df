import { describeConformance } from '../src/jest.js';
import { nats } from '../src/descriptors/nats.js';

await describeConformance(nats);
