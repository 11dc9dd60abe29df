import { GCPubSubServer } from '@algoan/nestjs-google-pubsub-microservice';
import { PubSubFactory, Transport } from '@algoan/pubsub';
import { startNestServer } from '../nest-app.js';
import type { BenchPayload, TargetModule } from '../types.js';
import { PROJECT_ID } from './pubsub.js';

/**
 * Peer: @algoan/nestjs-google-pubsub-microservice, wired as its README shows (a GCPubSubServer
 * strategy; events emitted with @algoan/pubsub). Events only: it has no request-response and
 * no ClientProxy; it acks each message before the handler runs (autoAck).
 */
export const target: TargetModule = {
  async startServer(env) {
    const options = { projectId: PROJECT_ID, topicsPrefix: env.ns, subscriptionsPrefix: env.ns, topicsNames: ['tick'] };
    const unwrap = (message: unknown) => env.onEvent((message as { payload: BenchPayload }).payload);
    const app = await startNestServer({ strategy: new GCPubSubServer(options) }, unwrap);
    return { close: () => app.close() };
  },
  async startClient(env) {
    const pubsub = PubSubFactory.create({ transport: Transport.GOOGLE_PUBSUB, options: { projectId: PROJECT_ID, topicsPrefix: env.ns } });
    return {
      request: () => Promise.reject(new Error('request-response is not offered by this package')),
      emit: (data) => pubsub.emit('tick', data),
      close: async () => {
        await (pubsub.client as { close?: () => Promise<void> }).close?.();
      },
    };
  },
};
