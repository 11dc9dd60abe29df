import assert from 'node:assert/strict';
import { ClientKafka, KafkaContext, Transport } from '@nestjs/microservices';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaTopics, offeredHere, resolveBackend } from '../backend.js';
import { defineTransport, type CodecOverrides, type RunEnv } from '../descriptor.js';
import { until } from '../util.js';

/** Topics with more than one partition (by pattern name): the servers of one consumer group share them (ev.competing-consumers). */
const PARTITIONED: Record<string, number> = { job: 2 };

/** The run's topics: one per string pattern (object patterns are no legal topic names: not claimed). */
const requestTopics = (env: RunEnv) => env.patterns.messages.filter((p): p is string => typeof p === 'string');
const eventTopics = (env: RunEnv) => env.patterns.events.filter((p): p is string => typeof p === 'string');
const topicsOf = (env: RunEnv) => [...requestTopics(env).flatMap((t) => [t, `${t}.reply`]), ...eventTopics(env)];

/**
 * What a value looks like after Nest's Kafka codecs: KafkaRequestSerializer sends numbers and booleans
 * as their text, and KafkaParser JSON-parses only text that starts with `{` or `[` (and hands text
 * starting with a zero byte over as a Buffer). Objects and arrays are JSON, so nested values keep their types.
 */
export function kafkaWire(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string' && value.startsWith('\u0000')) return Buffer.from(value);
  if (typeof value === 'string' && (value.startsWith('{') || value.startsWith('['))) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

const debug = Boolean(process.env.CONFORMANCE_KAFKA_DEBUG);

const kafkaClientConfig = (env: RunEnv, extra: Record<string, unknown> = {}) => ({
  clientId: env.ns,
  brokers: [env.url ?? '127.0.0.1:9092'],
  logLevel: debug ? logLevel.WARN : logLevel.NOTHING,
  // CONFORMANCE_KAFKA_DEBUG=1 prints KafkaJS's warnings and errors (Nest's own logger is off in the suite).
  ...(debug ? { logCreator: () => (e: any) => console.error(`[kafkajs ${env.ns} ${e.namespace}] ${e.log.message} ${e.log.error ?? ''}`) } : {}),
  retry: { initialRetryTime: 100, retries: 5 },
  ...extra,
});

/**
 * Consumer settings for the suite's short-lived groups: a fetch returns after at most 100 ms (KafkaJS
 * waits up to 5 s, and close() waits for the fetch in progress), heartbeats every 250 ms so that a
 * rebalance is noticed at once, and a failed message is retried after 100 ms instead of 300.
 * Sessions and rebalances get KafkaJS's 30 s: on a busy machine a consumer (or the broker) can miss
 * heartbeats for seconds, and a 6 s session evicted it mid-scenario — the group rebalanced and the
 * replies of 365 of rr.concurrent's 500 requests came after their callers gave up. A closed consumer
 * leaves its group at once, so no scenario waits for a session to expire.
 */
const consumerConfig = (groupId: string) => ({
  groupId,
  sessionTimeout: 30_000,
  heartbeatInterval: 250,
  rebalanceTimeout: 30_000,
  maxWaitTimeInMs: 100,
  retry: { initialRetryTime: 100, retries: 3 },
});

let clients = 0;

function kafkaClient(env: RunEnv, codecs?: CodecOverrides, brokers?: string): ClientKafka {
  // Every client instance needs a consumer group of its own: two clients in one group split the
  // reply topics' partitions, and the one without a partition cannot send.
  const id = `${env.ns}-c${++clients}`;
  const c = new ClientKafka({
    client: kafkaClientConfig(env, { clientId: id, ...(brokers ? { brokers: [brokers], retry: { retries: 0 }, connectionTimeout: 1_000 } : {}) }),
    consumer: consumerConfig(id),
    // A new group starts at the end of the reply topic; a reply written before its first fetch would be skipped.
    subscribe: { fromBeginning: true },
    ...codecs,
  });
  for (const pattern of env.patterns.messages) c.subscribeToResponseOf(pattern);
  // connect() resolves once the reply consumer has joined its group — except when the join fails and
  // KafkaJS restarts the consumer in the background; send() would then throw "did not subscribe to
  // the corresponding reply topic". Wait (bounded) until every reply topic has a partition, as users do.
  const replyTopics = requestTopics(env).map((t) => `${t}.reply`);
  const connect = c.connect.bind(c);
  c.connect = async () => {
    const producer = await connect();
    const assigned = () => replyTopics.every((t) => t in c.getConsumerAssignments());
    await until(
      assigned,
      10_000,
      () => `ClientKafka's reply consumer did not get the reply topics (${Object.keys(c.getConsumerAssignments()).length}/${replyTopics.length} assigned)`,
    );
    return producer;
  };
  return c;
}

export const kafka = defineTransport({
  name: 'kafka',
  kind: 'builtin',
  backend: 'Apache Kafka (KafkaJS 2.2), topics created per scenario',
  capabilities: ['requestResponse', 'events', 'metadata', 'durable', 'redelivery', 'gracefulClose', 'reconnect', 'competingConsumers', 'payloadLimit'],
  differences: {
    'rr.basic':
      'numbers and booleans arrive as strings, requests and replies alike (`6` → `"6"`): KafkaRequestSerializer sends them as text and KafkaParser JSON-parses only values starting with `{` or `[`; objects and arrays keep their types',
    'rr.payload-types': 'scalars arrive as strings (see rr.basic); a string that starts with `{` or `[` and holds JSON arrives parsed',
    'rr.object-pattern':
      'not claimed: Nest turns an object pattern into its JSON text, which is not a legal Kafka topic name (only letters, digits, `.`, `_`, `-`), so the broker refuses it',
    'rr.stream':
      'not claimed: values arrive in order, but the end of a stream is a message with a null value that KafkaResponseDeserializer hands out as a response, so an empty Observable yields one `null` and a stream that completes after its last value was sent ends with an extra `null`',
    'rr.no-handler':
      'the server subscribes only to topics it has handlers for, so a request to another pattern waits in its topic unanswered until the client gives up; there is no "no matching message handler" error',
    'rr.timeout':
      'n/a: KafkaJS fetches again only after every message of the previous fetch is handled (one fetcher per broker), so a handler that does not finish holds up every request to that server; the next request is answered once the slow handler returns',
    'rr.payload-too-large': "the broker's message.max.bytes (1 MiB by default) is the limit: the producer's send fails with MESSAGE_TOO_LARGE",
    'ev.order':
      'not claimed: the broker keeps the order of a partition, but KafkaJS reorders concurrent send() calls — of a burst of emits not awaited one by one, the last overtakes the one before it (every time: its topic lock resumes the next waiter through a longer promise chain than the last caller takes); emits awaited one at a time keep their order',
    'ev.competing-consumers':
      'servers of one consumer group share the partitions of a topic (the suite creates `job` with 2 partitions); never more servers than partitions',
    'ev.fan-out': 'not claimed: every server of the app uses one consumer group (`<groupId>-server`), so they compete; fan-out needs a group per server',
    'ev.handler-throws': 'the server survives; the failed event is retried in place by KafkaJS (see del.redelivery) until the server closes',
    'del.redelivery':
      "ServerKafka (12.1) awaits an event handler's outcome, so its error reaches KafkaJS, which retries the message in place after a backoff and restarts the consumer once its retries are used up: the partition waits behind a message that always fails (no dead-letter topic); a request handler's error is answered to the client, and retried only when it is a KafkaRetriableException",
    'del.durable':
      "events stay in the topic; a consumer group reads a topic it has no offset for from the beginning only with subscribe.fromBeginning (the suite sets it): with KafkaJS's default, events emitted before the group first consumed the topic are skipped",
    'life.client-first': 'the request waits in its topic and is answered once the server has joined its consumer group',
    'life.graceful-close':
      'close() waits for the message being handled; messages of one partition are handled one at a time, and the rest of a fetched batch is left for the next consumer',
    'ctx.metadata': 'metadata travels as Kafka headers: send a Kafka message `{ value, headers }`, read KafkaContext.getMessage().headers (values as strings)',
    'ser.custom': "Kafka's serializers get the payload (a request's data, a reply's response) and return a Kafka message, not the packet",
  },
  notes: [
    'ClientKafka needs subscribeToResponseOf(pattern) for every pattern it sends to before it connects, its own consumer group per instance, and existing topics: on KRaft a consumer cannot subscribe to a missing topic (KafkaJS does not retry UNKNOWN_TOPIC_OR_PARTITION), so the descriptor creates every topic of the run (`env.patterns`), `<pattern>.reply` included, before each scenario, and deletes them and the run’s consumer groups after it',
  ],
  notApplicable: {
    'rr.timeout':
      'a handler that does not finish holds up every request to its server (KafkaJS fetches again only once the previous fetch is handled), so "the server serves the next request" cannot hold while the slow handler runs',
  },
  resolve: () => resolveBackend('kafka'),
  // Wherever a broker is given, or Java and Maven can start one, CI must run the Kafka row.
  requiredInCi: (env) => Boolean(env.KAFKA_BROKERS) || Boolean(offeredHere('kafka')),
  async prepare(env) {
    const topics = topicsOf(env).map((topic) => ({ topic, numPartitions: PARTITIONED[topic.slice(env.ns.length + 1)] ?? 1 }));
    await createKafkaTopics(env.url ?? '127.0.0.1:9092', topics);
  },
  // The run's topics and consumer groups go once its clients and servers are closed.
  async cleanup(env) {
    const admin = new Kafka(kafkaClientConfig(env, { clientId: `${env.ns}-cleanup` })).admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const topics = topicsOf(env).filter((t) => existing.has(t));
      if (topics.length) await admin.deleteTopics({ topics, timeout: 10_000 });
      const { groups } = await admin.listGroups();
      const mine = groups.map((g) => g.groupId).filter((id) => id.startsWith(env.ns));
      // A group can vanish meanwhile (empty, its topics deleted): GROUP_ID_NOT_FOUND is done, anything else (NON_EMPTY_GROUP: a consumer did not leave) fails.
      if (mine.length)
        await admin.deleteGroups(mine).catch((err) => {
          const left = (err.groups ?? []).filter((g: any) => g.error?.type !== 'GROUP_ID_NOT_FOUND');
          if (!err.groups || left.length)
            throw new Error(`deleting consumer groups: ${left.map((g: any) => `${g.groupId}: ${g.error?.type ?? g.errorCode}`).join('; ') || err.message}`);
        });
    } finally {
      await admin.disconnect();
    }
  },
  server: (env, codecs) => ({
    transport: Transport.KAFKA,
    options: {
      client: kafkaClientConfig(env),
      consumer: consumerConfig(env.ns),
      subscribe: { fromBeginning: true },
      ...codecs,
    },
  }),
  client: (env, codecs) => kafkaClient(env, codecs),
  unreachableClient: (env) => kafkaClient(env, undefined, `127.0.0.1:${env.sparePort}`),
  clientFirst: 'queues',
  noHandler: { behaviour: 'unanswered' },
  payload: { large: 900 * 1024, tooLarge: 2 * 1024 * 1024, tooLargeError: /larger than the max message size/ },
  timeoutMs: 30_000,
  wire: kafkaWire,
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof KafkaContext, 'KafkaContext');
    assert.equal(ctx.getTopic(), pattern, 'getTopic()');
    assert.equal(ctx.getPartition(), 0, 'getPartition()');
    assert.equal(typeof ctx.getMessage().offset, 'string', 'getMessage().offset');
    assert.equal(typeof ctx.getHeartbeat(), 'function', 'getHeartbeat()');
    assert.ok(ctx.getConsumer(), 'getConsumer()');
    assert.ok(ctx.getProducer(), 'getProducer()');
  },
  metadata: {
    send: (_client, data, headers) => ({ value: data, headers }),
    read(ctx) {
      const h = (ctx as KafkaContext).getMessage().headers ?? {};
      return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));
    },
  },
  codecs: { serializes: 'payload' },
});
