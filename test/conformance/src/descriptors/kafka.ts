import assert from 'node:assert/strict';
import { ClientKafka, KafkaContext, Transport } from '@nestjs/microservices';
import { logLevel } from 'kafkajs';
import { createKafkaTopics, resolveBackend } from '../backend.js';
import { defineTransport, type CodecOverrides, type RunEnv } from '../descriptor.js';

/** The handler names scenarios use: ClientKafka must subscribe to their reply topics before it connects. */
const REPLY_NAMES = ['sum', 'echo', 'double', 'length', 'count', 'none', 'refuse', 'crash', 'slow', 'whoami', 'headers', 'ping', 'missing'];

/** Event topics the scenarios emit to (topics are created up front: the server subscribes before anyone produces). */
const EVENT_NAMES = ['created', 'known', 'unknown', 'sync', 'async', 'ok', 'seq', 'job', 'news', 'stored'];

const client = (env: RunEnv, extra: Record<string, unknown> = {}) => ({
  clientId: env.ns,
  brokers: [env.url ?? '127.0.0.1:9092'],
  logLevel: logLevel.NOTHING,
  ...extra,
});

function kafkaClient(env: RunEnv, codecs?: CodecOverrides, brokers?: string): ClientKafka {
  const c = new ClientKafka({
    client: client(env, brokers ? { brokers: [brokers], retry: { retries: 0 }, connectionTimeout: 1_000 } : {}),
    consumer: { groupId: `${env.ns}-client`, allowAutoTopicCreation: true },
    ...codecs,
  });
  for (const name of REPLY_NAMES) c.subscribeToResponseOf(`${env.ns}.${name}`);
  return c;
}

export const kafka = defineTransport({
  name: 'kafka',
  kind: 'builtin',
  backend: 'Apache Kafka (KafkaJS), one partition per topic',
  capabilities: ['requestResponse', 'events', 'streaming', 'orderedEvents', 'durable', 'metadata'],
  differences: {
    'life.client-first': 'the request waits in its topic and is answered once the server has joined its consumer group',
    'del.durable': 'events are kept in the topic; a new consumer group reads them from the beginning (subscribe.fromBeginning)',
    'ev.competing-consumers': 'servers of one consumer group share partitions: with one partition per topic (this broker) a single server takes all (not claimed)',
    'ctx.metadata': 'metadata travels as Kafka headers (KafkaContext.getMessage().headers)',
  },
  // Work in progress: against the Maven-started broker the row is not green yet (the broker stops answering
  // after the first scenario), so the suite only runs Kafka when asked to.
  resolve: async () =>
    process.env.CONFORMANCE_KAFKA === '1'
      ? resolveBackend('kafka')
      : { available: false, reason: 'the Kafka row is not green yet (replies arrive as strings, the broker stops answering after a few scenarios): run it with CONFORMANCE_KAFKA=1' },
  requiredInCi: env => env.CONFORMANCE_KAFKA === '1',
  async prepare(env) {
    const topics = [...REPLY_NAMES.flatMap(n => [`${env.ns}.${n}`, `${env.ns}.${n}.reply`]), ...EVENT_NAMES.map(n => `${env.ns}.${n}`)];
    await createKafkaTopics(env.url ?? '127.0.0.1:9092', topics);
  },
  server: (env, codecs) => ({
    transport: Transport.KAFKA,
    options: {
      client: client(env),
      consumer: { groupId: env.ns, allowAutoTopicCreation: true },
      subscribe: { fromBeginning: true },
      ...codecs,
    },
  }),
  client: (env, codecs) => kafkaClient(env, codecs),
  unreachableClient: env => kafkaClient(env, undefined, `127.0.0.1:${env.sparePort}`),
  clientFirst: 'queues',
  payload: { large: 512 * 1024 },
  timeoutMs: 40_000,
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof KafkaContext, 'KafkaContext');
    assert.equal(ctx.getTopic(), pattern);
    assert.equal(typeof ctx.getPartition(), 'number');
  },
  metadata: {
    send: (_client, data, headers) => ({ value: data, headers }),
    read(ctx) {
      const h = (ctx as KafkaContext).getMessage().headers ?? {};
      return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));
    },
  },
});
