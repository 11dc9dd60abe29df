import { describeConformance } from '../src/jest.js';
import { rmq } from '../src/descriptors/rmq.js';

await describeConformance(rmq);
