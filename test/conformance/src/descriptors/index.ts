import type { TransportDescriptor } from '../descriptor.js';
import { installLine, missingPackages, nestMajor } from '../environment.js';
import { errorText } from '../util.js';

/** A row the suite ships: loaded only when asked for, so that its client library is needed only then. */
export interface BuiltInRow {
  name: string;
  kind: 'custom' | 'builtin';
  backend: string;
  /** npm packages the row needs besides Nest (its client library, the transport package). */
  requires(): string[];
  load(): Promise<TransportDescriptor>;
}

const natsLibrary = () => ((nestMajor() ?? 12) >= 12 ? '@nats-io/transport-node' : 'nats');

/** Every row the CLI runs when no transport is named: Nest's built-ins first, then this project's transports. */
export const builtIns: BuiltInRow[] = [
  { name: 'tcp', kind: 'builtin', backend: 'none (Nest TCP)', requires: () => [], load: async () => (await import('./tcp.js')).tcp },
  { name: 'redis', kind: 'builtin', backend: 'Redis pub/sub', requires: () => ['ioredis'], load: async () => (await import('./redis.js')).redis },
  { name: 'nats', kind: 'builtin', backend: 'NATS core', requires: () => [natsLibrary()], load: async () => (await import('./nats.js')).nats },
  { name: 'mqtt', kind: 'builtin', backend: 'MQTT 5 broker', requires: () => ['mqtt'], load: async () => (await import('./mqtt.js')).mqtt },
  {
    name: 'rmq',
    kind: 'builtin',
    backend: 'RabbitMQ',
    requires: () => ['amqplib', 'amqp-connection-manager'],
    load: async () => (await import('./rmq.js')).rmq,
  },
  {
    name: 'grpc',
    kind: 'builtin',
    backend: 'none (gRPC)',
    requires: () => ['@grpc/grpc-js', '@grpc/proto-loader'],
    load: async () => (await import('./grpc.js')).grpc,
  },
  { name: 'kafka', kind: 'builtin', backend: 'Apache Kafka', requires: () => ['kafkajs'], load: async () => (await import('./kafka.js')).kafka },
  { name: 'ws', kind: 'custom', backend: 'WebSocket', requires: () => ['@nest-transports/ws', 'ws'], load: async () => (await import('./ws.js')).ws },
  {
    name: 'sqs',
    kind: 'custom',
    backend: 'Amazon SQS API',
    requires: () => ['@nest-transports/sqs', '@aws-sdk/client-sqs'],
    load: async () => (await import('./sqs.js')).sqs,
  },
  {
    name: 'sqs-elasticmq',
    kind: 'custom',
    backend: 'Amazon SQS API on ElasticMQ',
    requires: () => ['@nest-transports/sqs', '@aws-sdk/client-sqs'],
    load: async () => (await import('./sqs.js')).sqsElasticMq,
  },
  {
    name: 'pubsub',
    kind: 'custom',
    backend: 'Google Cloud Pub/Sub API',
    requires: () => ['@nest-transports/pubsub', '@google-cloud/pubsub'],
    load: async () => (await import('./pubsub.js')).pubsub,
  },
  {
    name: 'jetstream',
    kind: 'custom',
    backend: 'NATS JetStream',
    requires: () => ['@nest-transports/jetstream', '@nats-io/jetstream', '@nats-io/transport-node'],
    load: async () => (await import('./jetstream.js')).jetstream,
  },
  {
    name: 'redis-streams',
    kind: 'custom',
    backend: 'Redis Streams',
    requires: () => ['@nest-transports/redis-streams', 'ioredis'],
    load: async () => (await import('./redis-streams.js')).redisStreams,
  },
];

export const builtInNames = builtIns.map((row) => row.name);

export type LoadedRow = { ok: true; descriptor: TransportDescriptor } | { ok: false; row: BuiltInRow; reason: string };

/**
 * Loads a built-in row by name. A missing client library is not an error: the row comes back with
 * the reason and the install line, to be reported as skipped.
 */
export async function loadBuiltIn(name: string): Promise<LoadedRow> {
  const row = builtIns.find((r) => r.name === name);
  if (!row) throw new Error(`unknown transport "${name}" (built-in rows: ${builtInNames.join(', ')}; or give a descriptor file's path)`);
  const missing = missingPackages(row.requires());
  if (missing.length) return { ok: false, row, reason: `install ${missing.join(' and ')} to run this row: ${installLine(missing)}` };
  try {
    return { ok: true, descriptor: await row.load() };
  } catch (err) {
    return { ok: false, row, reason: `the row could not be loaded: ${errorText(err)}` };
  }
}
