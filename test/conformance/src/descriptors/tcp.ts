import { ClientTCP, TcpContext, Transport } from '@nestjs/microservices';
import assert from 'node:assert/strict';
import { defineTransport, type ClientProxy, type RunEnv } from '../descriptor.js';
import { packetMetadataNotApplicable, onNest11 } from './nest-features.js';

const HOST = '127.0.0.1';

export const tcp = defineTransport({
  name: 'tcp',
  kind: 'builtin',
  backend: 'none (Nest TCP, JSON over a socket)',
  capabilities: ['requestResponse', 'events', 'streaming', 'objectPatterns', 'metadata', 'orderedEvents', 'reconnect'],
  differences: {
    'life.client-first': 'the client fails fast with ECONNREFUSED: nothing queues a request while no server listens',
    'life.graceful-close': 'close() destroys accepted sockets at once: replies of in-flight handlers are lost (not claimed)',
    'ev.competing-consumers': 'a client connects to one server: no fan-out, no load sharing (neither claimed)',
    ...onNest11({
      'life.reconnect':
        'Nest 11: after close(), the old socket\'s late close event runs ClientTCP.handleClose() again and fails the next request with "Connection closed" (fixed in Nest 12)',
    }),
  },
  notApplicable: packetMetadataNotApplicable,
  resolve: async () => ({ available: true, description: 'no broker' }),
  server: (env, codecs) => ({ transport: Transport.TCP, options: { host: HOST, port: env.port, ...codecs } }),
  client: (env, codecs): ClientProxy => new ClientTCP({ host: HOST, port: env.port, ...codecs }),
  unreachableClient: (env: RunEnv) => new ClientTCP({ host: HOST, port: env.sparePort }),
  clientFirst: 'errors',
  payload: { large: 4 * 1024 * 1024 },
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof TcpContext, 'TcpContext');
    assert.equal(ctx.getPattern(), pattern);
    assert.ok(ctx.getSocketRef(), 'getSocketRef()');
  },
  metadata: {
    send(client, data, headers) {
      client.setOnDispatchHook!((packet) => void (packet.metadata = { ...headers }));
      return data;
    },
    read: (ctx) => (ctx as TcpContext).getMetadata() as Record<string, string> | undefined,
  },
});
