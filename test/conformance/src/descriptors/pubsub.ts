import assert from 'node:assert/strict';
import { PubSub, type ClientConfig } from '@google-cloud/pubsub';
import { PUBSUB_MAX_MESSAGE_BYTES, PubSubClient, PubSubContext, PubSubRecordBuilder, PubSubServer } from '@nest-transports/pubsub';
import { resolveBackend } from '../backend.js';
import { defineTransport, type RunEnv } from '../descriptor.js';

const PROJECT = 'nest-transports-conformance';

const clientConfig = (env: RunEnv, endpoint = env.url ?? '127.0.0.1:8085'): ClientConfig => ({
  projectId: PROJECT,
  apiEndpoint: endpoint,
  emulatorMode: true,
  // Without it the auth library looks for the universe domain on the GCE metadata server (off-host traffic).
  universeDomain: 'googleapis.com',
});

/**
 * Pub/Sub orders only messages that share an ordering key: ev.order publishes with the pattern as
 * the key. Elsewhere no key is set, so messages of one pattern are handled side by side.
 */
const ordered = (env: RunEnv) => env.scenario === 'ev.order';

/**
 * Servers on one subscription share its messages when each pulls only what it can start (intake
 * "pull"); the emulator hands a streaming pull a whole burst, whatever its flow control.
 */
const competing = (env: RunEnv) => env.scenario === 'ev.competing-consumers';

/** Failed messages go to the run's dead-letter topic after this many deliveries (a safety net: no scenario fails that often). */
const MAX_DELIVERY_ATTEMPTS = 20;

export const pubsub = defineTransport({
  name: 'pubsub',
  kind: 'custom',
  backend: 'Google Cloud Pub/Sub API (@nest-transports/pubsub; a topic and a subscription with a dead-letter topic per run)',
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
    'payloadLimit',
    'competingConsumers',
  ],
  differences: {
    'ev.order':
      'ordering holds for messages of one ordering key on a subscription with enableMessageOrdering: this scenario publishes with the pattern as the key (the client option orderingKey). Without a key Pub/Sub does not order deliveries',
    'ev.competing-consumers':
      'the servers run with intake: "pull" (each pulls only as many messages as it has free handler slots). With the default streaming pull the emulator hands a whole burst to one server whatever the flow control (the raw @google-cloud/pubsub client shows the same split, 100/0 with maxMessages 5)',
    'ev.fan-out':
      'servers on one subscription compete for its messages; fan-out is one subscription per service on the same topic (not claimed: the descriptor gives every server the same subscription)',
    'life.client-first': 'the request waits in the subscription and is answered once a server pulls it',
    'del.durable': 'events wait in the subscription (retained 7 days by default) while no server pulls',
    'del.redelivery':
      'a failed handler nacks its message; Pub/Sub redelivers it at once (or per the retryPolicy), then dead-letters it after maxDeliveryAttempts',
    'ctx.metadata':
      'metadata travels as Pub/Sub message attributes (PubSubRecordBuilder.setAttributes, PubSubContext.getAttributes()); Nest 12 packet metadata also reaches PubSubContext.getMetadata()',
    'rr.payload-too-large':
      "an encoded message over maxMessageBytes (10 MB, Pub/Sub's limit) fails on the client with PayloadTooLargeError before anything is published",
    'life.slow-reader': "replies go through the client's reply topic, never a socket buffer (not claimed)",
  },
  resolve: () => resolveBackend('pubsub'),
  async prepare(env) {
    const admin = new PubSub(clientConfig(env));
    try {
      const [deadLetters] = await admin.createTopic(`${env.ns}-dead`);
      const [topic] = await admin.createTopic(env.ns);
      await topic.createSubscription(env.ns, {
        ackDeadlineSeconds: 10,
        enableMessageOrdering: ordered(env),
        deadLetterPolicy: { deadLetterTopic: deadLetters.name, maxDeliveryAttempts: MAX_DELIVERY_ATTEMPTS },
      });
    } finally {
      await admin.close();
    }
  },
  // The run's subscriptions and topics (main, dead-letter, the clients' reply topics) all start with its namespace.
  async cleanup(env) {
    const admin = new PubSub(clientConfig(env));
    const mine = (name: string) => name.split('/').pop()!.startsWith(env.ns);
    try {
      const [subscriptions] = await admin.getSubscriptions();
      await Promise.all(subscriptions.filter((s) => mine(s.name)).map((s) => s.delete()));
      const [topics] = await admin.getTopics();
      await Promise.all(topics.filter((t) => mine(t.name)).map((t) => t.delete()));
    } finally {
      await admin.close();
    }
  },
  server: (env, codecs) => ({
    strategy: new PubSubServer({
      clientConfig: clientConfig(env),
      subscription: env.ns,
      closeTimeout: 10_000,
      ...(competing(env) ? { intake: 'pull', batchSize: 10, waitTimeSeconds: 2 } : {}),
      ...codecs,
    }),
  }),
  client: (env, codecs) =>
    new PubSubClient({
      clientConfig: clientConfig(env),
      topic: env.ns,
      replyTopicPrefix: `${env.ns}-r`,
      orderingKey: ordered(env) ? (route) => route : undefined,
      ...codecs,
    }),
  unreachableClient: (env) => new PubSubClient({ clientConfig: clientConfig(env, `127.0.0.1:${env.sparePort}`), topic: env.ns, connectTimeout: 3_000 }),
  clientFirst: 'queues',
  payload: {
    // 9 MB goes through the emulator in about a second each way; the limit is 10 MB (data + attributes).
    large: 9 * 1000 * 1000,
    tooLarge: PUBSUB_MAX_MESSAGE_BYTES + 1000,
    tooLargeError: /over the limit of 10000000 bytes/,
  },
  // The emulator is slow under load (~50 ms a round trip, a few thousand messages/s on 2 cores).
  timeoutMs: 30_000,
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof PubSubContext, 'PubSubContext');
    assert.equal(ctx.getPattern(), pattern);
    assert.match(ctx.getSubscription(), new RegExp(`^projects/${PROJECT}/subscriptions/`), 'getSubscription()');
    assert.equal(typeof ctx.getMessage().id, 'string', 'getMessage().id');
    assert.ok(Buffer.isBuffer(ctx.getMessage().data), 'getMessage().data');
    assert.equal(ctx.getAttributes()['nest-pattern'], pattern, 'getAttributes()');
    assert.equal(ctx.getDeliveryAttempt(), 1, 'getDeliveryAttempt() (the subscription has a dead-letter policy)');
    assert.equal(ctx.getOrderingKey(), undefined, 'no ordering key');
  },
  metadata: {
    send: (_client, data, headers) => new PubSubRecordBuilder(data).setAttributes(headers).build(),
    read: (ctx) => (ctx as PubSubContext).getAttributes(),
  },
});
