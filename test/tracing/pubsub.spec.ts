import { afterAll } from '@jest/globals';
import { resolveBackend, stopAllBackends } from '@nest-transports/backends';
import { PubSubClient, PubSubServer } from '@nest-transports/pubsub';
import { pubsubTopic } from './backends.js';
import { describeTracing } from './scenarios.js';

afterAll(stopAllBackends);

describeTracing('pubsub', async () => {
  const backend = await resolveBackend('pubsub');
  if (!backend.available) return backend.reason;
  const { clientConfig, pubsub, topic, subscription, remove } = await pubsubTopic(backend.url);
  return {
    system: 'gcp_pubsub',
    destination: () => topic,
    source: () => subscription,
    attempts: false,
    redelivers: true,
    start: async () => ({
      strategy: new PubSubServer({ clientConfig, subscription, retryDelaySeconds: 0 }),
      client: () => new PubSubClient({ clientConfig, topic }),
    }),
    async foreignEvent(pattern, data, headers) {
      await pubsub.topic(topic).publishMessage({ data: Buffer.from(JSON.stringify({ pattern, data })), attributes: { ...headers, 'nest-pattern': pattern } });
    },
    stop: remove,
  };
});
