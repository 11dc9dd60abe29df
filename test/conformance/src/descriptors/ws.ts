import assert from 'node:assert/strict';
import { WsClient, WsContext, WsServer } from '@nest-transports/ws';
import { defineTransport } from '../descriptor.js';

const HOST = '127.0.0.1';
const MAX_PAYLOAD = 1024 * 1024;

export const ws = defineTransport({
  name: 'ws',
  kind: 'custom',
  backend: 'none (WebSocket, @nest-transports/ws)',
  capabilities: ['requestResponse', 'events', 'streaming', 'objectPatterns', 'metadata', 'orderedEvents', 'reconnect', 'gracefulClose', 'payloadLimit'],
  differences: {
    'life.client-first': 'the client fails fast when nothing listens (connection refused)',
  },
  resolve: async () => ({ available: true, description: 'no broker' }),
  server: (env, codecs) => ({ strategy: new WsServer({ host: HOST, port: env.port, maxPayload: MAX_PAYLOAD, ...codecs }) }),
  client: (env, codecs) => new WsClient({ url: `ws://${HOST}:${env.port}`, maxPayload: MAX_PAYLOAD, ...codecs }),
  unreachableClient: env => new WsClient({ url: `ws://${HOST}:${env.sparePort}`, reconnect: { enabled: false } }),
  clientFirst: 'errors',
  payload: { large: MAX_PAYLOAD - 64 * 1024, tooLarge: 2 * MAX_PAYLOAD, tooLargeError: /too large|exceed|limit/i },
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof WsContext, 'WsContext');
    assert.equal(ctx.getPattern(), pattern);
    assert.ok(ctx.getSocket(), 'getSocket()');
    assert.ok(ctx.getRequest(), 'getRequest()');
    assert.equal(typeof ctx.getConnectionId(), 'string');
  },
  metadata: {
    send(client, data, headers) {
      client.setOnDispatchHook(packet => void (packet.metadata = { ...headers }));
      return data;
    },
    read: ctx => (ctx as WsContext).getMetadata() as Record<string, string> | undefined,
  },
});
