import { describeConformance } from '../src/jest.js';
import { redisStreams } from '../src/descriptors/redis-streams.js';

await describeConformance(redisStreams);
