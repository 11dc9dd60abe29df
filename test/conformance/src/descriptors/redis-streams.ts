import assert from 'node:assert/strict';
import { RedisStreamsClient, RedisStreamsContext, RedisStreamsRecordBuilder, RedisStreamsServer } from '@nest-transports/redis-streams';
import { Redis } from 'ioredis';
import { resolveBackend } from '../backend.js';
import { defineTransport, type RunEnv } from '../descriptor.js';

const url = (env: RunEnv) => env.url ?? 'redis://127.0.0.1:6379';

/** The run's stream holds its events and requests; its dead-letter stream takes what fails 20 times (a safety net: no scenario fails that often). */
const streamOf = (env: RunEnv) => `${env.ns}`;
const MAX_DELIVERIES = 20;

/** ev.fan-out gives each server a group of its own (one per service); every other scenario shares the run's group. */
let fanOutServers = 0;
const groupFor = (env: RunEnv) => (env.scenario === 'ev.fan-out' ? `service-${++fanOutServers}` : 'svc');

export const redisStreams = defineTransport({
  name: 'redis-streams',
  kind: 'custom',
  backend: 'Redis Streams (@nest-transports/redis-streams with ioredis; a stream and consumer groups per run)',
  capabilities: [
    'requestResponse',
    'events',
    'streaming',
    'objectPatterns',
    'metadata',
    'orderedEvents',
    'redelivery',
    'durable',
    'gracefulClose',
    'reconnect',
    'competingConsumers',
    'fanOut',
    'payloadLimit',
  ],
  notes: [
    'Events and requests are entries of one stream per service (the pattern in a field), read through a consumer group; replies go to a stream per client.',
    `Each run uses a stream named after the run, groups created on demand from the start of the stream, maxDeliveries ${MAX_DELIVERIES}; cleanup deletes the stream and its dead-letter stream.`,
  ],
  differences: {
    'life.client-first': 'a request is an entry of the stream: it waits there and is answered once a server reads the group',
    'ev.order':
      'entries of one pattern are handled one after another with the server option ordering: "pattern", used here; by default handlers run side by side',
    'ev.competing-consumers': 'replicas share one consumer group (the server option group): Redis hands each entry to one of them',
    'ev.fan-out': 'each service reads the stream through a group of its own (this scenario gives each server its own group)',
    'del.durable': 'entries wait in the stream; the group delivers them once a server reads it',
    'del.redelivery':
      'a failed entry stays pending and is taken again (XAUTOCLAIM) after retryDelaySeconds (1 s here; by default 1, 2, 4… s up to claimIdle); after maxDeliveries it goes to the dead-letter stream',
    'del.no-loss': 'failed entries come back after retryDelaySeconds (1 s here), up to maxDeliveries',
    'ctx.metadata': 'metadata travels as entry fields (RedisStreamsRecordBuilder.setFields, RedisStreamsContext.getFields())',
    'rr.payload-too-large':
      'an entry (body and fields) over maxMessageBytes (1 MiB by default) fails on the client with PayloadTooLargeError before anything is added',
  },
  resolve: () => resolveBackend('redis'),
  cleanup: async (env) => {
    const redis = new Redis(url(env), { lazyConnect: true });
    try {
      await redis.connect();
      await redis.del(streamOf(env), `${streamOf(env)}:dead-letter`);
    } finally {
      redis.disconnect();
    }
  },
  server: (env, codecs) => ({
    strategy: new RedisStreamsServer({
      url: url(env),
      stream: streamOf(env),
      group: groupFor(env),
      maxDeliveries: MAX_DELIVERIES,
      retryDelaySeconds: 1,
      ordering: env.scenario === 'ev.order' ? 'pattern' : 'none',
      ...codecs,
    }),
  }),
  client: (env, codecs) => new RedisStreamsClient({ url: url(env), stream: streamOf(env), ...codecs }),
  unreachableClient: (env) => new RedisStreamsClient({ url: `redis://127.0.0.1:${env.sparePort}`, stream: 'unreachable', connectTimeout: 2000 }),
  clientFirst: 'queues',
  payload: {
    // maxMessageBytes is 1 MiB by default; the packet and the fields take a few hundred bytes more.
    large: 1000 * 1000,
    tooLarge: 1024 * 1024 + 1000,
    tooLargeError: /over the limit of 1048576 bytes/,
  },
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof RedisStreamsContext, 'RedisStreamsContext');
    assert.equal(ctx.getPattern(), pattern, 'getPattern()');
    assert.equal(ctx.isRequest(), true, 'isRequest()');
    assert.equal(ctx.getDeliveryAttempt(), 1, 'getDeliveryAttempt()');
    assert.match(ctx.getId(), /^\d+-\d+$/, 'getId(): the entry id');
    assert.equal(ctx.getFields()['nest-pattern'], pattern, 'getFields()');
  },
  metadata: {
    send: (_client, data, headers) => new RedisStreamsRecordBuilder(data).setFields(headers).build(),
    read: (ctx) => (ctx as RedisStreamsContext).getFields(),
  },
});
