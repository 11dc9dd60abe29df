import { ClientKafka, ClientMqtt, ClientNats, ClientRedis, ClientRMQ, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { nestBenchClient, type BenchableClient } from '../nest-client.js';
import { startNestServer } from '../nest-app.js';
import type { ClientEnv, ServerEnv, TargetModule } from '../types.js';

/** A Nest built-in configured by its server options and client factory. */
function builtin(
  server: (env: ServerEnv) => MicroserviceOptions,
  client: (env: ClientEnv) => BenchableClient,
  prepare?: (env: ServerEnv) => Promise<void>,
): TargetModule {
  return {
    async startServer(env) {
      await prepare?.(env);
      const app = await startNestServer(server(env), env.onEvent);
      return { close: () => app.close() };
    },
    startClient: (env) => nestBenchClient(client(env)),
  };
}

const redisAddress = (url = 'redis://127.0.0.1:6379') => {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) || 6379 };
};

export const redis = builtin(
  (env) => ({ transport: Transport.REDIS, options: redisAddress(env.url) }),
  (env) => new ClientRedis(redisAddress(env.url)),
);

export const nats = builtin(
  (env) => ({ transport: Transport.NATS, options: { servers: [env.url ?? 'nats://127.0.0.1:4222'], queue: `${env.ns}-workers` } }),
  (env) => new ClientNats({ servers: [env.url ?? 'nats://127.0.0.1:4222'] }),
);

export const mqtt = builtin(
  (env) => ({ transport: Transport.MQTT, options: { url: env.url ?? 'mqtt://127.0.0.1:1883', protocolVersion: 5 } }),
  (env) => new ClientMqtt({ url: env.url ?? 'mqtt://127.0.0.1:1883', protocolVersion: 5 }),
);

const queueOptions = { durable: false, arguments: { 'x-expires': 120_000 } };
export const rmq = builtin(
  (env) => ({ transport: Transport.RMQ, options: { urls: [env.url ?? 'amqp://guest:guest@127.0.0.1:5672'], queue: env.ns, queueOptions } }),
  (env) => new ClientRMQ({ urls: [env.url ?? 'amqp://guest:guest@127.0.0.1:5672'], queue: env.ns, queueOptions }),
);

export const kafka = builtin(
  (env) => ({
    transport: Transport.KAFKA,
    options: { client: { clientId: `${env.ns}-server`, brokers: [env.url!], logLevel: 0 }, consumer: { groupId: `${env.ns}-server` } },
  }),
  (env) => {
    const client = new ClientKafka({ client: { clientId: `${env.ns}-client`, brokers: [env.url!], logLevel: 0 }, consumer: { groupId: `${env.ns}-client` } });
    client.subscribeToResponseOf('echo');
    return client;
  },
  // Nest's Kafka transport does not create its topics: the request, reply and event topics.
  async (env) => {
    const { createKafkaTopics } = await import('@nest-transports/backends');
    await createKafkaTopics(env.url!, ['echo', 'echo.reply', 'tick']);
  },
);
