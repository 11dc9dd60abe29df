import assert from 'node:assert/strict';
import { ClientRedis, RedisContext, Transport } from '@nestjs/microservices';
import { resolveBackend } from '../backend.js';
import { defineTransport, type RunEnv } from '../descriptor.js';
import { packetMetadataNotApplicable, onNest11 } from './nest-features.js';

const address = (env: RunEnv) => {
  const url = new URL(env.url ?? 'redis://127.0.0.1:6379');
  return { host: url.hostname, port: Number(url.port) || 6379 };
};

export const redis = defineTransport({
  name: 'redis',
  kind: 'builtin',
  backend: 'Redis pub/sub',
  capabilities: ['requestResponse', 'events', 'streaming', 'objectPatterns', 'metadata', 'orderedEvents', 'reconnect', 'fanOut'],
  differences: {
    'rr.no-handler': "nobody subscribes to an unknown pattern, so a request to it is never answered: only the client's own timeout ends it",
    'life.status': 'close() emits no status: client and server stay at connected',
    'life.client-first': "pub/sub keeps nothing: a request published before the server subscribes is dropped; only the client's own timeout ends it",
    'ev.fan-out': 'every server subscribed to a pattern gets every event (pub/sub): no competing consumers, no durability, no redelivery',
    'life.graceful-close': 'close() quits the subscriber and publisher connections at once: replies of in-flight handlers are lost (not claimed)',
    ...onNest11({
      'life.reconnect': 'Nest 11: a ClientRedis closed with close() does not connect again; the next request is never answered (fixed in Nest 12)',
      'life.unreachable': 'Nest 11: close() of a ClientRedis whose connection failed throws "Connection is closed"',
    }),
  },
  notApplicable: packetMetadataNotApplicable,
  resolve: () => resolveBackend('redis'),
  server: (env, codecs) => ({ transport: Transport.REDIS, options: { ...address(env), ...codecs } }),
  client: (env, codecs) => new ClientRedis({ ...address(env), ...codecs }),
  unreachableClient: (env) => new ClientRedis({ host: '127.0.0.1', port: env.sparePort, retryAttempts: 0 }),
  clientFirst: 'drops',
  statusAfterClose: { client: null, server: null },
  noHandler: { behaviour: 'unanswered' },
  payload: { large: 4 * 1024 * 1024 },
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof RedisContext, 'RedisContext');
    assert.equal(ctx.getChannel(), pattern);
  },
  metadata: {
    send(client, data, headers) {
      client.setOnDispatchHook!((packet) => void (packet.metadata = { ...headers }));
      return data;
    },
    read: (ctx) => (ctx as RedisContext).getMetadata() as Record<string, string> | undefined,
  },
});
