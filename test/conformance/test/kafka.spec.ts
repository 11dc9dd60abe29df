import { describeConformance } from '../src/jest.js';
import { kafka } from '../src/descriptors/kafka.js';

await describeConformance(kafka);
