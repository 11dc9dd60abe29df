import { afterAll, describe, expect, it } from '@jest/globals';
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { resolveBackend, sqsClientConfig, stopAllBackends } from '@nest-transports/backends';
import { tracingReady, uniqueName } from '@nest-transports/shared';
import { SqsClient } from '@nest-transports/sqs';
import { trace } from '@opentelemetry/api';
import { lastValueFrom } from 'rxjs';

const backend = await resolveBackend('sqs');
const suite = backend.available ? describe : describe.skip;
afterAll(stopAllBackends);

suite('tracing off: @opentelemetry/api present, no SDK registered', () => {
  it('adds nothing to a message, even inside an active (non-recording) context', async () => {
    await tracingReady;
    const config = sqsClientConfig(backend.available ? backend.url : '');
    const sqs = new SQSClient(config);
    const queue = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('trace-off') }))).QueueUrl!;
    const client = new SqsClient({ sqs: config, queue });
    try {
      await trace.getTracer('test').startActiveSpan('noop', async (span) => {
        await lastValueFrom(client.emit('plain', 1));
        span.end();
      });
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, WaitTimeSeconds: 2, MessageAttributeNames: ['All'] }));
      expect(Messages).toHaveLength(1);
      expect(Object.keys(Messages[0].MessageAttributes ?? {})).toEqual(['nest-pattern']);
    } finally {
      await client.close();
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queue })).catch(() => undefined);
      sqs.destroy();
    }
  });
});
