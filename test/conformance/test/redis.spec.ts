import { describeConformance } from '../src/jest.js';
import { redis } from '../src/descriptors/redis.js';

await describeConformance(redis);
