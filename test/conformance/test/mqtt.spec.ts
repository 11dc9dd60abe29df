import { describeConformance } from '../src/jest.js';
import { mqtt } from '../src/descriptors/mqtt.js';

await describeConformance(mqtt);
