import { PubSub } from '@google-cloud/pubsub';
import { uniqueName } from '@nest-transports/shared';

/** A fresh Pub/Sub topic with one subscription on the emulator at `url`, and their removal. */
export async function pubsubTopic(url: string) {
  const clientConfig = { projectId: 'nest-transports-test', apiEndpoint: url, emulatorMode: true };
  const pubsub = new PubSub(clientConfig);
  const topic = uniqueName('trace-t');
  const subscription = uniqueName('trace-s');
  await pubsub.createTopic(topic);
  await pubsub.createSubscription(topic, subscription);
  return {
    clientConfig,
    pubsub,
    topic,
    subscription,
    async remove() {
      await pubsub
        .subscription(subscription)
        .delete()
        .catch(() => undefined);
      await pubsub
        .topic(topic)
        .delete()
        .catch(() => undefined);
      await pubsub.close();
    },
  };
}
