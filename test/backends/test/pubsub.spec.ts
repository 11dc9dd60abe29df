import { afterAll, describe, expect, it } from '@jest/globals';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { resolveBackend, stopAllBackends } from '../src/index.js';

const pubsub = await resolveBackend('pubsub');
afterAll(stopAllBackends);

describe('pubsub', () => {
  const available = pubsub.available ? it : it.skip;

  available('is one shared instance per process', async () => {
    expect(await resolveBackend('pubsub')).toBe(pubsub);
  });

  available('creates a topic and a subscription, publishes and receives', async () => {
    if (!pubsub.available) return;
    // apiEndpoint instead of PUBSUB_EMULATOR_HOST; projectId so the client never asks a metadata server.
    const client = new PubSub({ projectId: 'nest-transports-test', apiEndpoint: pubsub.url });
    try {
      const name = `backends-${Date.now()}`;
      const [topic] = await client.createTopic(name);
      const [subscription] = await topic.createSubscription(`${name}-sub`);
      const received = new Promise<string>((resolve) => {
        subscription.on('message', (message: Message) => {
          message.ack();
          resolve(message.data.toString());
        });
      });
      await topic.publishMessage({ data: Buffer.from('pubsub ok') });
      expect(await received).toBe('pubsub ok');
      await subscription.close();
      await subscription.delete();
      await topic.delete();
    } finally {
      await client.close();
    }
  });

  if (!pubsub.available) it(`is unavailable: ${pubsub.reason}`, () => expect(pubsub.reason).toContain('PUBSUB_EMULATOR_HOST'));
});
