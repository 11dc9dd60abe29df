import { describeConformance } from '../src/jest.js';
import { pubsub } from '../src/descriptors/pubsub.js';

await describeConformance(pubsub);
