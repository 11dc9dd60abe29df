import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PubSub } from '@google-cloud/pubsub';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ClientProxyFactory, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { freePort, resolveBackend, type BackendName } from '@nest-transports/backends';
import { JetStreamClient, JetStreamServer } from '@nest-transports/jetstream';
import { PubSubClient, PubSubServer } from '@nest-transports/pubsub';
import { RedisStreamsClient, RedisStreamsServer } from '@nest-transports/redis-streams';
import { SqsClient, SqsServer } from '@nest-transports/sqs';
import { WsClient, WsServer } from '@nest-transports/ws';
import type { AnyClient, ServiceName } from './peers.js';
import { traceBuiltinClient } from './tracing.js';

export const TRANSPORTS = ['ws', 'sqs', 'pubsub', 'jetstream', 'redis-streams', 'tcp', 'redis', 'nats', 'mqtt', 'rmq'] as const;
export type TransportName = (typeof TRANSPORTS)[number];

/** How each service is reached on one transport: its server's options and a client to it. */
export interface Wiring {
  transport: TransportName;
  server(service: ServiceName): MicroserviceOptions;
  client(service: ServiceName): AnyClient;
  /** Removes what `wire()` created (queues, topics). */
  dispose(): Promise<void>;
}

const BACKENDS: Partial<Record<TransportName, BackendName>> = {
  sqs: 'sqs',
  pubsub: 'pubsub',
  jetstream: 'nats',
  'redis-streams': 'redis',
  redis: 'redis',
  nats: 'nats',
  mqtt: 'mqtt',
  rmq: 'amqp',
};

/**
 * Finds the transport's backend (environment, local service, or an emulator started here) and
 * gives every service its own endpoint: a port (ws, tcp), a queue (sqs, rmq), a topic and
 * subscription (pubsub), a stream and durable consumer (jetstream), a stream and group (redis-streams), or its patterns on a shared
 * broker (redis, nats, mqtt).
 * `namespace` keeps concurrent runs apart on shared brokers' queues and topics.
 */
export async function wire(transport: TransportName, namespace: string): Promise<Wiring> {
  const backendName = BACKENDS[transport];
  const backend = backendName ? await resolveBackend(backendName) : undefined;
  if (backend && !backend.available) throw new Error(`${transport}: ${backend.reason}`);
  const url = backend?.available ? backend.url : '';
  const none = async () => undefined;
  const clientOf = (options: MicroserviceOptions) => traceBuiltinClient(transport, ClientProxyFactory.create(options as never) as unknown as AnyClient);

  switch (transport) {
    case 'ws':
    case 'tcp': {
      const ports = Object.fromEntries(await Promise.all((['orders', 'inventory', 'payments'] as const).map(async (s) => [s, await freePort()])));
      if (transport === 'ws') {
        return {
          transport,
          dispose: none,
          server: (s) => ({ strategy: new WsServer({ host: '127.0.0.1', port: ports[s] }) }),
          client: (s) => new WsClient({ url: `ws://127.0.0.1:${ports[s]}` }),
        };
      }
      const tcp = (s: ServiceName) => ({ transport: Transport.TCP, options: { host: '127.0.0.1', port: ports[s] } }) as MicroserviceOptions;
      return { transport, dispose: none, server: tcp, client: (s) => clientOf(tcp(s)) };
    }
    case 'redis': {
      const { hostname, port } = new URL(url);
      const redis = { transport: Transport.REDIS, options: { host: hostname, port: Number(port) } } as MicroserviceOptions;
      return { transport, dispose: none, server: () => redis, client: () => clientOf(redis) };
    }
    case 'nats': {
      const nats = { transport: Transport.NATS, options: { servers: [url] } } as MicroserviceOptions;
      return { transport, dispose: none, server: () => nats, client: () => clientOf(nats) };
    }
    case 'mqtt': {
      // MQTT 5: user properties carry the trace context.
      const mqtt = { transport: Transport.MQTT, options: { url, protocolVersion: 5 } } as MicroserviceOptions;
      return { transport, dispose: none, server: () => mqtt, client: () => clientOf(mqtt) };
    }
    case 'rmq': {
      const rmq = (s: ServiceName) =>
        ({
          transport: Transport.RMQ,
          options: { urls: [url], queue: `${namespace}-${s}`, queueOptions: { durable: false, autoDelete: true } },
        }) as MicroserviceOptions;
      return { transport, dispose: none, server: rmq, client: (s) => clientOf(rmq(s)) };
    }
    case 'sqs': {
      const sqsConfig = { endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'example', secretAccessKey: 'example' } };
      const admin = new SQSClient(sqsConfig);
      const queues: Record<string, string> = {};
      for (const s of ['orders', 'inventory', 'payments']) {
        queues[s] = (await admin.send(new CreateQueueCommand({ QueueName: `${namespace}-${s}` }))).QueueUrl!;
      }
      return {
        transport,
        dispose: async () => admin.destroy(),
        server: (s) => ({ strategy: new SqsServer({ sqs: sqsConfig, queues: [queues[s]], waitTimeSeconds: 1 }) }),
        client: (s) => new SqsClient({ sqs: sqsConfig, queue: queues[s] }),
      };
    }
    case 'jetstream': {
      // Each service's events go to its stream (created by its server), requests over core NATS.
      const requestPrefix = `${namespace}.rpc`;
      const stream = (s: ServiceName) => `${namespace}-${s}`;
      return {
        transport,
        dispose: async () => {
          const nc = await connect({ servers: url });
          const jsm = await jetstreamManager(nc);
          for (const s of ['orders', 'inventory', 'payments'] as const) await jsm.streams.delete(stream(s)).catch(() => undefined);
          await nc.close();
        },
        server: (s) => ({
          strategy: new JetStreamServer({
            servers: url,
            requestPrefix,
            stream: stream(s),
            consumer: s,
            autoCreate: true,
            streamConfig: { subjects: [`${namespace}.${s}.>`] },
          }),
        }),
        client: (s) => new JetStreamClient({ servers: url, requestPrefix, subject: (route) => `${namespace}.${s}.${route}` }),
      };
    }
    case 'redis-streams': {
      // Each service reads its stream through its group (both created by its server); deleting the streams removes the groups.
      const stream = (s: ServiceName) => `${namespace}-${s}`;
      return {
        transport,
        dispose: async () => {
          const { Redis } = await import('ioredis');
          const admin = new Redis(url);
          for (const s of ['orders', 'inventory', 'payments'] as const) await admin.del(stream(s), `${stream(s)}:dead-letter`);
          await admin.quit();
        },
        server: (s) => ({ strategy: new RedisStreamsServer({ url, stream: stream(s), group: s }) }),
        client: (s) => new RedisStreamsClient({ url, stream: stream(s) }),
      };
    }
    case 'pubsub': {
      const clientConfig = { projectId: 'saga-example', apiEndpoint: url, emulatorMode: true };
      const admin = new PubSub(clientConfig);
      const names = (s: ServiceName) => ({ topic: `${namespace}-${s}`, subscription: `${namespace}-${s}-sub` });
      for (const s of ['orders', 'inventory', 'payments'] as const) {
        const [topic] = await admin.createTopic(names(s).topic);
        await topic.createSubscription(names(s).subscription);
      }
      return {
        transport,
        dispose: async () => {
          for (const s of ['orders', 'inventory', 'payments'] as const) {
            await admin
              .subscription(names(s).subscription)
              .delete()
              .catch(() => undefined);
            await admin
              .topic(names(s).topic)
              .delete()
              .catch(() => undefined);
          }
          await admin.close();
        },
        server: (s) => ({ strategy: new PubSubServer({ clientConfig, subscription: names(s).subscription }) }),
        client: (s) => new PubSubClient({ clientConfig, topic: names(s).topic }),
      };
    }
  }
}
