import { PubSubClient, PubSubServer } from '@nest-transports/pubsub';
import { nestBenchClient } from '../nest-client.js';
import { startNestServer } from '../nest-app.js';
import { experimentOptions } from '../experiment.js';
import type { TargetModule } from '../types.js';

export const PROJECT_ID = 'nest-transports-bench';

/** Client config for the emulator at `url` (host:port), as the transport's own tests use it. */
export const emulatorConfig = (url: string | undefined) => ({ projectId: PROJECT_ID, ...(url && { apiEndpoint: url, emulatorMode: true }) });

/** Our Pub/Sub transport with its defaults against the emulator (PUBSUB_EMULATOR_HOST). */
export const target: TargetModule = {
  async startServer(env) {
    const strategy = new PubSubServer({
      clientConfig: emulatorConfig(env.url),
      autoCreate: true,
      topic: `${env.ns}-requests`,
      subscription: `${env.ns}-sub`,
      ...experimentOptions(),
    });
    const app = await startNestServer({ strategy }, env.onEvent);
    return { close: () => app.close() };
  },
  startClient: (env) =>
    nestBenchClient(new PubSubClient({ clientConfig: emulatorConfig(env.url), topic: `${env.ns}-requests`, replyTopicPrefix: `${env.ns}-r` })),
};
