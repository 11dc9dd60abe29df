import { ClientProxyFactory, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { JetStreamClient, JetStreamServer } from '@nest-transports/jetstream';
import { PubSubClient, PubSubServer } from '@nest-transports/pubsub';
import { RedisStreamsClient, RedisStreamsServer } from '@nest-transports/redis-streams';
import { SqsClient, SqsServer } from '@nest-transports/sqs';
import { WsClient, WsServer } from '@nest-transports/ws';
import type { AnyClient, ServiceName } from './peers.js';
import { traceBuiltinClient } from './tracing.js';
import { TRANSPORTS, type TransportName, type Wiring } from './transports.js';

type Env = Record<string, string | undefined>;

function required(env: Env, name: string, why: string): string {
  const value = env[name];
  if (!value) throw new Error(`Set ${name} (${why}).`);
  return value;
}

/**
 * Wiring for a deployed service (one process per service, as in Kubernetes), from the
 * environment only: `TRANSPORT`, the broker address, and for ws/tcp each peer's address
 * (`ORDERS_URL`, `INVENTORY_URL`, `PAYMENTS_URL`). Queues/topics are `${SAGA_PREFIX}-${service}`
 * and must exist (provisioned with the infrastructure).
 */
export function wireFromEnv(env: Env = process.env): Wiring {
  const transport = (env.TRANSPORT ?? 'ws') as TransportName;
  if (!TRANSPORTS.includes(transport)) throw new Error(`TRANSPORT must be one of ${TRANSPORTS.join(', ')}, not "${transport}".`);
  const prefix = env.SAGA_PREFIX ?? 'saga';
  const port = Number(env.PORT ?? 3001);
  const peerUrl = (s: ServiceName) => required(env, `${s.toUpperCase()}_URL`, `the address of the ${s} service, e.g. ws://${s}:3001`);
  const builtinClient = (options: MicroserviceOptions) => traceBuiltinClient(transport, ClientProxyFactory.create(options as never) as unknown as AnyClient);
  const builtin = (options: MicroserviceOptions) => ({ server: () => options, client: () => builtinClient(options) });
  const done = async () => undefined;

  switch (transport) {
    case 'ws':
      return {
        transport,
        dispose: done,
        server: () => ({ strategy: new WsServer({ host: '0.0.0.0', port }) }),
        client: (s) => new WsClient({ url: peerUrl(s) }),
      };
    case 'tcp': {
      const hostPort = (s: ServiceName) => new URL(peerUrl(s).replace(/^tcp:/, 'http:'));
      return {
        transport,
        dispose: done,
        server: () => ({ transport: Transport.TCP, options: { host: '0.0.0.0', port } }),
        client: (s) => builtinClient({ transport: Transport.TCP, options: { host: hostPort(s).hostname, port: Number(hostPort(s).port) } }),
      };
    }
    case 'sqs': {
      const sqs = { region: env.AWS_REGION ?? 'us-east-1', ...(env.SQS_ENDPOINT && { endpoint: env.SQS_ENDPOINT }) };
      return {
        transport,
        dispose: done,
        server: (s) => ({ strategy: new SqsServer({ sqs, queues: [`${prefix}-${s}`] }) }),
        client: (s) => new SqsClient({ sqs, queue: `${prefix}-${s}` }),
      };
    }
    case 'pubsub': {
      const clientConfig = { projectId: required(env, 'GOOGLE_CLOUD_PROJECT', 'the Google Cloud project') };
      return {
        transport,
        dispose: done,
        server: (s) => ({ strategy: new PubSubServer({ clientConfig, subscription: `${prefix}-${s}-sub` }) }),
        client: (s) => new PubSubClient({ clientConfig, topic: `${prefix}-${s}` }),
      };
    }
    case 'jetstream': {
      // Streams `${SAGA_PREFIX}-${service}` capturing `${SAGA_PREFIX}.${service}.>`, durable consumers named
      // after the service, requests on `${SAGA_PREFIX}.rpc.<pattern>`.
      const servers = env.NATS_URL ?? 'nats://localhost:4222';
      const requestPrefix = `${prefix}.rpc`;
      return {
        transport,
        dispose: done,
        server: (s) => ({
          strategy: new JetStreamServer({ servers, requestPrefix, stream: `${prefix}-${s}`, consumer: s, deadLetterSubject: `${prefix}.dead-letter.${s}` }),
        }),
        client: (s) => new JetStreamClient({ servers, requestPrefix, subject: (route) => `${prefix}.${s}.${route}` }),
      };
    }
    case 'redis-streams': {
      // Streams `${SAGA_PREFIX}-${service}` read through a group named after the service (created on demand).
      const url = env.REDIS_URL ?? 'redis://localhost:6379';
      return {
        transport,
        dispose: done,
        server: (s) => ({ strategy: new RedisStreamsServer({ url, stream: `${prefix}-${s}`, group: s }) }),
        client: (s) => new RedisStreamsClient({ url, stream: `${prefix}-${s}` }),
      };
    }
    case 'redis': {
      const url = new URL(env.REDIS_URL ?? 'redis://localhost:6379');
      return { transport, dispose: done, ...builtin({ transport: Transport.REDIS, options: { host: url.hostname, port: Number(url.port || 6379) } }) };
    }
    case 'nats':
      return { transport, dispose: done, ...builtin({ transport: Transport.NATS, options: { servers: [env.NATS_URL ?? 'nats://localhost:4222'] } }) };
    case 'mqtt':
      return {
        transport,
        dispose: done,
        ...builtin({ transport: Transport.MQTT, options: { url: env.MQTT_URL ?? 'mqtt://localhost:1883', protocolVersion: 5 } }),
      };
    case 'rmq': {
      const rmq = (s: ServiceName) =>
        ({ transport: Transport.RMQ, options: { urls: [env.AMQP_URL ?? 'amqp://localhost:5672'], queue: `${prefix}-${s}` } }) as MicroserviceOptions;
      return { transport, dispose: done, server: rmq, client: (s) => builtinClient(rmq(s)) };
    }
  }
}
