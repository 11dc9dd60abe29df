import { describeConformance } from '../src/jest.js';
import { tcp } from '../src/descriptors/tcp.js';

await describeConformance(tcp);
