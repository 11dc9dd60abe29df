import { JetStreamClient, JetStreamServer } from '@nest-transports/jetstream';
import { experimentOptions } from '../experiment.js';
import { nestBenchClient } from '../nest-client.js';
import { startNestServer } from '../nest-app.js';
import type { TargetModule } from '../types.js';
import { deleteStreams, jetStreamNames, NATS_URL } from './jetstream-config.js';

/**
 * Our JetStream transport with its defaults: events stored in a stream and read through a durable
 * pull consumer (acked after the handler), requests over core NATS. The row's stream is deleted
 * when the server closes.
 */
export const target: TargetModule = {
  async startServer(env) {
    const names = jetStreamNames(env.ns);
    const strategy = new JetStreamServer({
      servers: env.url ?? NATS_URL,
      stream: names.stream,
      consumer: names.consumer,
      autoCreate: true,
      streamConfig: { subjects: names.subjects },
      ...experimentOptions(),
    });
    const app = await startNestServer({ strategy }, env.onEvent);
    return {
      close: async () => {
        await app.close();
        await deleteStreams(env.url, [names.stream]);
      },
    };
  },
  startClient: (env) => nestBenchClient(new JetStreamClient({ servers: env.url ?? NATS_URL, subject: jetStreamNames(env.ns).subject })),
};
