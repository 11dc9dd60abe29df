import { afterAll } from '@jest/globals';
import { CreateQueueCommand, DeleteQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { resolveBackend, sqsClientConfig, stopAllBackends } from '@nest-transports/backends';
import { uniqueName } from '@nest-transports/shared';
import { SqsClient, SqsServer } from '@nest-transports/sqs';
import { describeTracing } from './scenarios.js';

afterAll(stopAllBackends);

describeTracing('sqs', async () => {
  const backend = await resolveBackend('sqs');
  if (!backend.available) return backend.reason;
  const config = sqsClientConfig(backend.url);
  const sqs = new SQSClient(config);
  const name = uniqueName('trace');
  const { QueueUrl: queue } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  return {
    system: 'aws_sqs',
    destination: () => name,
    source: () => name,
    attempts: true,
    redelivers: true,
    start: async () => ({
      strategy: new SqsServer({ sqs: config, queues: [queue!], waitTimeSeconds: 1, retryDelaySeconds: 0 }),
      client: () => new SqsClient({ sqs: config, queue: queue! }),
    }),
    async foreignEvent(pattern, data, headers) {
      const attributes = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]));
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queue,
          MessageBody: JSON.stringify({ pattern, data }),
          MessageAttributes: { ...attributes, 'nest-pattern': { DataType: 'String', StringValue: pattern } },
        }),
      );
    },
    async stop() {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queue })).catch(() => undefined);
      sqs.destroy();
    },
  };
});
