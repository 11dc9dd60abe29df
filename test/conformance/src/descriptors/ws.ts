import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { WS_SUBPROTOCOL, WsClient, WsContext, WsServer } from '@nest-transports/ws';
import { WebSocket } from 'ws';
import { defineTransport, type RunEnv, type SlowReaderProbe } from '../descriptor.js';
import { packetMetadataNotApplicable } from './nest-features.js';

const HOST = '127.0.0.1';
const MAX_PAYLOAD = 1024 * 1024;

/** The server of each run, so the slow-reader probe can read what it buffers for a peer. */
const servers = new Map<string, WsServer>();

/** A raw peer that sends requests but never reads: its TCP socket is paused. */
async function slowReader(env: RunEnv, pattern: unknown): Promise<SlowReaderProbe> {
  const server = servers.get(env.ns);
  assert.ok(server, 'the run has a WsServer');
  const serverSockets: WebSocket[] = [];
  server.on('connection', (connection) => serverSockets.push(connection.socket));
  const peer = new WebSocket(`ws://${HOST}:${env.port}`, [WS_SUBPROTOCOL]);
  peer.on('error', () => undefined);
  await new Promise((resolve, reject) => peer.once('open', resolve).once('error', reject));
  (peer as unknown as { _socket: Socket })._socket.pause();
  return {
    async flood(count) {
      for (let i = 0; i < count; i++) peer.send(JSON.stringify({ id: `slow-${i}`, pattern, data: {} }));
    },
    serverBufferedBytes: () => serverSockets.reduce((sum, socket) => sum + socket.bufferedAmount, 0),
    async close() {
      peer.terminate();
      servers.delete(env.ns);
    },
  };
}

export const ws = defineTransport({
  name: 'ws',
  kind: 'custom',
  backend: 'none (WebSocket, @nest-transports/ws)',
  capabilities: [
    'requestResponse',
    'events',
    'streaming',
    'objectPatterns',
    'metadata',
    'orderedEvents',
    'reconnect',
    'gracefulClose',
    'payloadLimit',
    'backpressure',
  ],
  differences: {
    'life.client-first': 'the client fails fast when nothing listens (connection refused)',
  },
  notApplicable: packetMetadataNotApplicable,
  resolve: async () => ({ available: true, description: 'no broker' }),
  server: (env, codecs) => {
    const server = new WsServer({ host: HOST, port: env.port, maxPayload: MAX_PAYLOAD, ...codecs });
    servers.set(env.ns, server);
    return { strategy: server };
  },
  slowReader,
  client: (env, codecs) => new WsClient({ url: `ws://${HOST}:${env.port}`, maxPayload: MAX_PAYLOAD, ...codecs }),
  unreachableClient: (env) => new WsClient({ url: `ws://${HOST}:${env.sparePort}`, reconnect: { enabled: false } }),
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
      client.setOnDispatchHook!((packet) => void (packet.metadata = { ...headers }));
      return data;
    },
    read: (ctx) => (ctx as WsContext).getMetadata() as Record<string, string> | undefined,
  },
});
