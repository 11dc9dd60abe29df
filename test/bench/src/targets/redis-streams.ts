import { RedisStreamsClient, RedisStreamsServer } from '@nest-transports/redis-streams';
import { experimentOptions } from '../experiment.js';
import { nestBenchClient } from '../nest-client.js';
import { startNestServer } from '../nest-app.js';
import type { TargetModule } from '../types.js';
import { deleteKeys, REDIS_URL } from './redis-streams-config.js';

/**
 * Our Redis Streams transport with its defaults: events and requests are entries of the row's
 * stream, read through a consumer group and acknowledged after the handler; replies on a stream per
 * client. The row's stream is deleted when the server closes.
 */
export const target: TargetModule = {
  async startServer(env) {
    const strategy = new RedisStreamsServer({ url: env.url ?? REDIS_URL, stream: env.ns, ...experimentOptions() });
    const app = await startNestServer({ strategy }, env.onEvent);
    return {
      close: async () => {
        await app.close();
        await deleteKeys(env.url, [env.ns, `${env.ns}:dead-letter`]);
      },
    };
  },
  startClient: (env) => nestBenchClient(new RedisStreamsClient({ url: env.url ?? REDIS_URL, stream: env.ns })),
};
