// The conformance descriptor of nest-transport-memory. This package is CommonJS (no "type" in
// package.json), so this .js file is too; an ESM package would write the same with import/export.
const assert = require('node:assert/strict');
const { ClientsModule } = require('@nestjs/microservices');
const { defineTransport } = require('@nest-transports/conformance');
const { MemoryBroker, MemoryClient, MemoryContext, MemoryRecordBuilder, MemoryServer } = require('./dist');

const QUEUE = 'orders';
const CLIENT = 'MEMORY_CLIENT';
const LIMIT = 1024 * 1024;

module.exports = defineTransport({
  name: 'memory',
  kind: 'custom',
  backend: 'in-process MemoryBroker (nest-transport-memory)',
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
    'payloadLimit',
  ],
  differences: {
    'ev.fan-out': 'a queue hands each message to one server: servers on one queue compete (no fan-out)',
    'life.client-first': 'the request waits in the queue until a server consumes it',
    'del.redelivery': 'a failed event handler nacks its message: it is delivered again at once, up to maxDeliveries times (10 here), then dead-lettered',
    'rr.payload-too-large': 'the client refuses a message over maxMessageBytes (1 MiB by default) with PayloadTooLargeError; nothing is sent',
  },
  // The broker lives in this process: always there. Each scenario gets a broker of its own…
  resolve: async () => ({ available: true, description: 'in-process, one broker per scenario' }),
  // 10 deliveries before the dead-letter list (5 by default): del.no-loss fails 30% of handlings at
  // random, and 5 would dead-letter one of its 50 events in about one run in eight (50 × 0.3^5).
  prepare: async (env) => void MemoryBroker.start(env.ns, { maxDeliveries: 10 }),
  // …which goes, with its queues and messages, once the scenario's clients and servers are closed.
  cleanup: async (env) => MemoryBroker.stop(env.ns),
  cleanupRun: async () => {
    const left = MemoryBroker.running();
    if (left.length) throw new Error(`brokers still running after the run: ${left.join(', ')}`);
  },
  server: (env, codecs) => ({ strategy: new MemoryServer({ broker: env.ns, queue: QUEUE, ...codecs }) }),
  // The client as applications get it: registered with ClientsModule in a Nest app.
  hostedClient: (env, codecs) => ({
    imports: [ClientsModule.register([{ name: CLIENT, customClass: MemoryClient, options: { broker: env.ns, queue: QUEUE, ...codecs } }])],
    token: CLIENT,
  }),
  unreachableClient: (env) => new MemoryClient({ broker: `${env.ns}-never-started`, queue: QUEUE }),
  clientFirst: 'queues',
  payload: { large: LIMIT - 1024, tooLarge: 2 * LIMIT, tooLargeError: /over the limit of 1048576 bytes/ },
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof MemoryContext, 'MemoryContext');
    assert.equal(ctx.getPattern(), pattern, 'getPattern()');
    assert.equal(ctx.getQueue(), QUEUE, 'getQueue()');
    assert.equal(ctx.getAttempt(), 1, 'getAttempt()');
  },
  metadata: {
    send: (_client, data, headers) => new MemoryRecordBuilder(data).setHeaders(headers).build(),
    read: (ctx) => ctx.getHeaders(),
  },
});
