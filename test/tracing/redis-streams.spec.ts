import { resolveBackend } from '@nest-transports/backends';
import { RedisStreamsClient, RedisStreamsServer } from '@nest-transports/redis-streams';
import { uniqueName } from '@nest-transports/shared';
import { Redis } from 'ioredis';
import { describeTracing } from './scenarios.js';

describeTracing('redis-streams', async () => {
  const backend = await resolveBackend('redis');
  if (!backend.available) return backend.reason;
  const url = backend.url;
  const stream = uniqueName('trace');
  const group = 'traced';
  const redis = new Redis(url);
  const cleanup = async () => {
    await redis.del(stream, `${stream}:dead-letter`);
    redis.disconnect();
  };
  return {
    system: 'redis',
    destination: () => stream,
    source: () => `${stream}/${group}`,
    attempts: true,
    redelivers: true,
    start: async () => ({
      strategy: new RedisStreamsServer({ url, stream, group, retryDelaySeconds: 0 }),
      client: () => new RedisStreamsClient({ url, stream }),
    }),
    async foreignEvent(pattern, data, headers) {
      const fields = Object.entries({ ...headers, 'nest-pattern': pattern }).flat();
      await redis.xadd(stream, '*', ...fields, 'body', JSON.stringify({ pattern, data }));
    },
    stop: cleanup,
  };
});
