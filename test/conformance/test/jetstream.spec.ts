import { describeConformance } from '../src/jest.js';
import { jetstream } from '../src/descriptors/jetstream.js';

await describeConformance(jetstream);
