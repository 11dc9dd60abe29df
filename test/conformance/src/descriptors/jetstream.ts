import assert from 'node:assert/strict';
import { AckPolicy, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JETSTREAM_DEFAULTS, JetStreamClient, JetStreamContext, JetStreamRecordBuilder, JetStreamServer } from '@nest-transports/jetstream';
import { resolveBackend } from '../backend.js';
import { type Availability, defineTransport, type RunEnv } from '../descriptor.js';
import { errorText } from '../util.js';

const servers = (env: RunEnv) => env.url ?? 'nats://127.0.0.1:4222';

/** The run's stream holds its events (`ns.*`); its dead-letter stream takes what fails 20 times (a safety net: no scenario fails that often). */
const streamOf = (env: RunEnv) => env.ns;
const deadLetterSubject = (env: RunEnv) => `dead.${env.ns}`;
const MAX_DELIVERIES = 20;

/** Runs `work` on an admin connection of its own (a few ms: not worth keeping one open across scenarios). */
async function withAdmin(env: RunEnv, work: (jsm: JetStreamManager) => Promise<void>): Promise<void> {
  const nc = await connect({ servers: servers(env) });
  try {
    await work(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

/** ev.fan-out gives each server a consumer of its own (one per service); every other scenario shares the run's durable consumer. */
let fanOutServers = 0;
const consumerFor = (env: RunEnv) => (env.scenario === 'ev.fan-out' ? `${env.ns}-service-${++fanOutServers}` : `${env.ns}-svc`);

export const jetstream = defineTransport({
  name: 'jetstream',
  kind: 'custom',
  backend: 'NATS JetStream (@nest-transports/jetstream; a stream, a durable consumer and a dead-letter stream per run)',
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
    'Events go to a stream and are read through a durable pull consumer; requests and replies go over core NATS (a subject per pattern under requestPrefix, a reply subject per client), never through a stream.',
    `Each run creates a stream capturing "ns.>", a durable consumer with max_deliver ${MAX_DELIVERIES}, and a dead-letter stream; cleanup deletes them.`,
  ],
  differences: {
    'life.client-first':
      'requests travel over core NATS, which keeps nothing: a request sent before a server subscribes fails at once with NO_RESPONDERS (events wait in the stream)',
    'rr.no-handler':
      'each @MessagePattern has a subject of its own: a request to a pattern nobody serves fails at once with NO_RESPONDERS ("no server subscribes to the request subject"), not Nest\'s "no matching message handler"',
    'ev.order':
      'events of one subject are handled one after another with the server option ordering: "subject", used here; by default handlers run side by side',
    'ev.competing-consumers': 'replicas share one durable consumer (the server option consumer): JetStream hands each message to one of them',
    'ev.fan-out':
      'each service reads the stream through a consumer of its own (this scenario gives each server its own consumer name, created with autoCreate)',
    'del.durable': 'events wait in the stream; the durable consumer delivers them once a server reads it',
    'del.redelivery':
      'a failed handler naks its message with a delay (retryDelaySeconds, 1 s here; by default 1, 2, 4… s); after maxDeliveries it goes to the dead-letter subject',
    'del.no-loss': "failed events come back after retryDelaySeconds (1 s here), up to the consumer's max_deliver",
    'ctx.metadata':
      'metadata travels as NATS headers (JetStreamRecordBuilder.setHeaders, JetStreamContext.getHeaders()/getHeaderRecord()); Nest 12 packet metadata also reaches JetStreamContext.getMetadata()',
    'rr.payload-too-large':
      "a message (body and headers) over the NATS server's max_payload (1 MiB by default) fails on the client with PayloadTooLargeError before anything is published",
  },
  async resolve(): Promise<Availability> {
    const backend = await resolveBackend('nats');
    if (!backend.available) return backend;
    // NATS answers; JetStream must too.
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({ servers: backend.url, timeout: 3000 });
      await jetstreamManager(nc, { timeout: 3000 });
      return { ...backend, description: `${backend.description} with JetStream` };
    } catch (err) {
      return { available: false, reason: `NATS at ${backend.url} has no JetStream (start nats-server with -js): ${errorText(err)}` };
    } finally {
      await nc?.close();
    }
  },
  prepare: (env) =>
    withAdmin(env, async (jsm) => {
      await jsm.streams.add({ name: streamOf(env), subjects: [`${env.ns}.>`] });
      await jsm.streams.add({ name: `${streamOf(env)}_DEAD_LETTER`, subjects: [deadLetterSubject(env)] });
      await jsm.consumers.add(streamOf(env), { durable_name: `${env.ns}-svc`, ack_policy: AckPolicy.Explicit, max_deliver: MAX_DELIVERIES });
    }),
  cleanup: (env) =>
    withAdmin(env, async (jsm) => {
      for (const stream of [streamOf(env), `${streamOf(env)}_DEAD_LETTER`]) {
        await jsm.streams.delete(stream).catch((err) => {
          if (!/stream not found/i.test(errorText(err))) throw err;
        });
      }
    }),
  server: (env, codecs) => ({
    strategy: new JetStreamServer({
      servers: servers(env),
      stream: streamOf(env),
      consumer: consumerFor(env),
      autoCreate: env.scenario === 'ev.fan-out',
      deadLetterSubject: deadLetterSubject(env),
      retryDelaySeconds: 1,
      ordering: env.scenario === 'ev.order' ? 'subject' : 'none',
      ...codecs,
    }),
  }),
  client: (env, codecs) => new JetStreamClient({ servers: servers(env), ...codecs }),
  unreachableClient: (env) => new JetStreamClient({ servers: `nats://127.0.0.1:${env.sparePort}`, connectTimeout: 2000 }),
  clientFirst: 'errors',
  noHandler: { behaviour: 'error', message: /no server subscribes to the request subject/ },
  payload: {
    // The NATS server's max_payload is 1 MiB; the packet and its headers take a few hundred bytes more.
    large: 1000 * 1000,
    tooLarge: 1024 * 1024 + 1000,
    tooLargeError: /over the limit of 1048576 bytes/,
  },
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof JetStreamContext, 'JetStreamContext');
    assert.equal(ctx.getPattern(), pattern, 'getPattern()');
    assert.equal(ctx.getSubject(), `${JETSTREAM_DEFAULTS.requestPrefix}.${pattern}`, 'getSubject(): the request subject');
    assert.equal(ctx.isStreamMessage(), false, 'isStreamMessage(): a request is not stored');
    assert.equal(ctx.getDeliveryAttempt(), 1, 'getDeliveryAttempt()');
    assert.equal(ctx.getHeaderRecord()['nest-pattern'], pattern, 'getHeaderRecord()');
  },
  metadata: {
    send: (_client, data, headers) => new JetStreamRecordBuilder(data).setHeaders(headers).build(),
    read: (ctx) => (ctx as JetStreamContext).getHeaderRecord(),
  },
});
