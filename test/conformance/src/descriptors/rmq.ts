import assert from 'node:assert/strict';
import { ClientRMQ, RmqContext, RmqRecordBuilder, Transport } from '@nestjs/microservices';
import { resolveBackend } from '../backend.js';
import { defineTransport, type RunEnv } from '../descriptor.js';

const urls = (env: RunEnv) => [env.url ?? 'amqp://guest:guest@127.0.0.1:5672'];
// Each run declares its own queue; unused queues expire so runs leave nothing behind.
const queueOptions = { durable: false, arguments: { 'x-expires': 120_000 } };

export const rmq = defineTransport({
  name: 'rmq',
  kind: 'builtin',
  backend: 'RabbitMQ (one queue per run)',
  capabilities: ['requestResponse', 'events', 'streaming', 'objectPatterns', 'metadata', 'orderedEvents', 'reconnect', 'durable', 'competingConsumers'],
  differences: {
    'life.status': 'close() emits no status: client and server stay at connected',
    'life.client-first': 'the client declares the queue, so a request sent before the server listens waits in it and is answered once the server is up',
    'del.durable': 'events wait in the queue while no server consumes',
    'ev.competing-consumers': 'servers on one queue share its messages round-robin; there is no fan-out to several servers',
    'del.redelivery': 'a throwing handler is not nacked by Nest (noAck: true by default; with noAck: false the handler must ack/nack itself): not claimed',
    'life.server-restart':
      'defect: closing the server while one of its replies still awaits its publisher confirm rejects that reply ("Channel closed", amqp-connection-manager) and ServerRMQ.sendMessage leaves the promise unhandled — fatal in a default Node process. It shows here (and in del.durable) as a leak of the server\'s close() whenever the client got the reply before the server got the confirm',
    'ctx.metadata': 'metadata travels as AMQP headers (RmqRecordBuilder.setOptions({ headers }), RmqContext.getMessage().properties.headers)',
  },
  resolve: () => resolveBackend('amqp'),
  server: (env, codecs) => ({ transport: Transport.RMQ, options: { urls: urls(env), queue: env.ns, queueOptions, ...codecs } }),
  client: (env, codecs) => new ClientRMQ({ urls: urls(env), queue: env.ns, queueOptions, ...codecs }),
  unreachableClient: (env) => new ClientRMQ({ urls: [`amqp://127.0.0.1:${env.sparePort}`], queue: env.ns, queueOptions, maxConnectionAttempts: 1 } as any),
  clientFirst: 'queues',
  statusAfterClose: { client: null, server: null },
  payload: { large: 4 * 1024 * 1024 },
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof RmqContext, 'RmqContext');
    assert.equal(ctx.getPattern(), pattern);
    assert.ok(Buffer.isBuffer(ctx.getMessage().content), 'getMessage().content');
    assert.ok(ctx.getChannelRef(), 'getChannelRef()');
  },
  metadata: {
    send: (_client, data, headers) => new RmqRecordBuilder(data).setOptions({ headers }).build(),
    read: (ctx) => (ctx as RmqContext).getMessage().properties?.headers,
  },
});
