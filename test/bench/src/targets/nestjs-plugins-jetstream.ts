import { NatsJetStreamClientProxy, NatsJetStreamServer } from '@nestjs-plugins/nestjs-nats-jetstream-transport';
import { nestBenchClient, type BenchableClient } from '../nest-client.js';
import { startNestServer } from '../nest-app.js';
import type { TargetModule } from '../types.js';
import { deleteStreams, NATS_URL } from './jetstream-config.js';

/**
 * Peer: @nestjs-plugins/nestjs-nats-jetstream-transport, configured as its README shows (a stream
 * it creates, a durable push consumer per event pattern in a deliver group; requests over core
 * NATS on the pattern's subject), with its default acks: the `nats` v2 client acks each event
 * before the handler runs. It subscribes to the patterns themselves, so its stream captures `tick`
 * (the request subject `echo` stays outside: a stream over it would answer the requests).
 */
export const target: TargetModule = {
  async startServer(env) {
    const stream = `${env.ns.toUpperCase()}-PEER`;
    const strategy = new NatsJetStreamServer({
      connectionOptions: { servers: env.url ?? NATS_URL, name: `${env.ns}-listener` },
      consumerOptions: { deliverGroup: `${env.ns}-group`, durable: `${env.ns}-durable`, deliverTo: `${env.ns}-messages` },
      streamConfig: { name: stream, subjects: ['tick'] },
    });
    const app = await startNestServer({ strategy }, env.onEvent);
    return {
      close: async () => {
        await app.close();
        await deleteStreams(env.url, [stream]);
      },
    };
  },
  startClient: (env) =>
    nestBenchClient(
      new NatsJetStreamClientProxy({ connectionOptions: { servers: env.url ?? NATS_URL, name: `${env.ns}-client` } }) as unknown as BenchableClient,
    ),
};
