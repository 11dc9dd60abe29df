import { describeConformance } from '../src/jest.js';
import { ws } from '../src/descriptors/ws.js';

await describeConformance(ws);
