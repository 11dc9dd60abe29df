import { describeConformance } from '../src/jest.js';
import { grpc } from '../src/descriptors/grpc.js';

await describeConformance(grpc);
