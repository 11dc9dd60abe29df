import assert from 'node:assert/strict';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { SQS_DEFAULT_MAX_MESSAGE_BYTES, SqsClient, SqsContext, SqsRecordBuilder, SqsServer } from '@nest-transports/sqs';
import { elasticMqRegion, offeredHere, resolveBackend, sqsClientConfig } from '../backend.js';
import { defineTransport, type RunEnv, type TransportDescriptor } from '../descriptor.js';

/**
 * Ordering needs a FIFO queue on SQS (a standard queue orders on a best-effort basis only): ev.order
 * runs on `<ns>.fifo`, where the client's default message group is the pattern. Every other
 * scenario runs on a standard queue, where messages are handled side by side.
 */
const fifo = (env: RunEnv) => env.scenario === 'ev.order';
const queueName = (env: RunEnv) => (fifo(env) ? `${env.ns}.fifo` : env.ns);

/** Failed messages go to the run's dead-letter queue after this many receives (a safety net: no scenario fails that often). */
const MAX_RECEIVE_COUNT = 10;

/**
 * The queues' visibility timeout (s). Short, so that a message that does come back after it (a
 * server killed mid-handler) does so within a scenario. Long handlers are unaffected: the server
 * extends visibility; and close() lets its open long poll finish rather than abort it (SQS would
 * hide what it hands to an aborted poll for this long, aws-sdk-js#2350).
 */
const VISIBILITY_TIMEOUT = 5;

/** The run's queues: the one served, and its dead-letter queue. */
const queueNames = (env: RunEnv) => {
  const suffix = fifo(env) ? '.fifo' : '';
  return [queueName(env), `${env.ns}-dlq${suffix}`];
};

/**
 * The SQS row for one backend: `sqs` on fauxqs (or SQS_ENDPOINT — real AWS with AWS_REGION and
 * credentials in the environment), `sqs-elasticmq` on ElasticMQ with strict limits (or ELASTICMQ_ENDPOINT).
 */
function sqsTransport(name: string, backendName: 'sqs' | 'elasticmq', backendText: string, region?: () => string): TransportDescriptor {
  const sqsConfig = (env: RunEnv, endpoint = env.url ?? 'http://127.0.0.1:4566'): SQSClientConfig => sqsClientConfig(endpoint, region?.());
  return defineTransport({
    name,
    kind: 'custom',
    backend: `${backendText} (@nest-transports/sqs; a standard queue with a DLQ per run)`,
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
      'ev.order':
        'ordering holds on FIFO queues (per message group; the default group is derived from the pattern): this scenario runs on a .fifo queue. A standard queue orders only on a best-effort basis',
      'ev.fan-out': 'a queue hands each message to one consumer; fan-out to several services is SNS → one queue each, outside this transport (not claimed)',
      'life.client-first': 'the request waits in the queue and is answered once a server polls it',
      'del.durable':
        'events wait in the queue (retention 4 days by default) while no server polls, and are handled once one starts. The server that closed let its last long poll finish and handed back what it got, so no event waits for a visibility timeout',
      'life.server-restart': 'a request sent while no server polls waits in the queue and is answered by the new server',
      'del.redelivery':
        'a failed handler leaves its message undeleted; it is visible again after retryDelaySeconds (0 here), then redriven to the DLQ after maxReceiveCount receives',
      'ctx.metadata':
        'metadata travels as SQS message attributes (SqsRecordBuilder.setMessageAttributes, SqsContext.getMessageAttributes()); Nest 12 packet metadata also reaches SqsContext.getMetadata()',
      'rr.payload-too-large':
        'body + attributes over maxMessageBytes (256 KiB, SQS default) fail on the client with PayloadTooLargeError before anything is sent',
      'life.slow-reader': "replies go through the client's reply queue, never a socket buffer (not claimed)",
    },
    resolve: () => resolveBackend(backendName),
    requiredInCi: (env) => backendName === 'sqs' || Boolean(env.ELASTICMQ_ENDPOINT) || Boolean(offeredHere('elasticmq')),
    async prepare(env) {
      const sqs = new SQSClient(sqsConfig(env));
      try {
        const isFifo = fifo(env);
        const suffix = isFifo ? '.fifo' : '';
        const fifoAttributes: Record<string, string> = isFifo ? { FifoQueue: 'true' } : {};
        const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${env.ns}-dlq${suffix}`, Attributes: fifoAttributes }));
        const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }));
        await sqs.send(
          new CreateQueueCommand({
            QueueName: queueName(env),
            Attributes: {
              ...fifoAttributes,
              VisibilityTimeout: String(VISIBILITY_TIMEOUT),
              RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: String(MAX_RECEIVE_COUNT) }),
            },
          }),
        );
      } finally {
        sqs.destroy();
      }
    },
    async cleanup(env) {
      const sqs = new SQSClient(sqsConfig(env));
      try {
        await Promise.all(
          queueNames(env).map(async (QueueName) => {
            const url = await sqs.send(new GetQueueUrlCommand({ QueueName })).catch(() => undefined);
            if (url?.QueueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: url.QueueUrl }));
          }),
        );
      } finally {
        sqs.destroy();
      }
    },
    server: (env, codecs) => ({
      strategy: new SqsServer({
        queues: [queueName(env)],
        sqs: sqsConfig(env),
        // A short long-poll (close aborts it anyway) and an immediate retry, so redelivery scenarios are quick.
        waitTimeSeconds: 1,
        retryDelaySeconds: 0,
        ...codecs,
      }),
    }),
    client: (env, codecs) => new SqsClient({ queue: queueName(env), sqs: sqsConfig(env), ...codecs }),
    unreachableClient: (env) => new SqsClient({ queue: env.ns, sqs: { ...sqsConfig(env, `http://127.0.0.1:${env.sparePort}`), maxAttempts: 1 } }),
    clientFirst: 'queues',
    // A burst through a FIFO queue (ev.order: 300 events, one message group) takes 5–8 s on fauxqs alone on
    // 2 cores and over 15 s when the machine is shared: every bound of this row ×2.
    timeoutMs: 40_000,
    payload: {
      // Body + attributes must stay within 256 KiB: leave 2 KiB for the packet envelope and the attributes.
      large: SQS_DEFAULT_MAX_MESSAGE_BYTES - 2 * 1024,
      tooLarge: SQS_DEFAULT_MAX_MESSAGE_BYTES + 1024,
      tooLargeError: /over the limit of 262144 bytes/,
    },
    checkContext(ctx, pattern) {
      assert.ok(ctx instanceof SqsContext, 'SqsContext');
      assert.equal(ctx.getPattern(), pattern);
      assert.match(ctx.getQueueUrl(), /^https?:\/\//, 'getQueueUrl()');
      assert.equal(typeof ctx.getMessage().MessageId, 'string', 'getMessage().MessageId');
      assert.equal(typeof ctx.getMessage().ReceiptHandle, 'string', 'getMessage().ReceiptHandle');
      assert.equal(ctx.getReceiveCount(), 1, 'getReceiveCount()');
      assert.deepEqual(ctx.getMessageAttributes(), {}, 'no user attributes (the nest-* ones are hidden)');
      assert.equal(ctx.getMessageGroupId(), undefined, 'no message group on a standard queue');
    },
    metadata: {
      send: (_client, data, headers) => new SqsRecordBuilder(data).setMessageAttributes(headers).build(),
      read(ctx) {
        const attributes = (ctx as SqsContext).getMessageAttributes();
        return Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, String(value.StringValue)]));
      },
    },
  });
}

export const sqs = sqsTransport('sqs', 'sqs', 'Amazon SQS API on fauxqs');
export const sqsElasticMq = sqsTransport('sqs-elasticmq', 'elasticmq', 'Amazon SQS API on ElasticMQ (strict limits)', elasticMqRegion);
