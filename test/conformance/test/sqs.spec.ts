import { describeConformance } from '../src/jest.js';
import { sqs } from '../src/descriptors/sqs.js';

await describeConformance(sqs);
