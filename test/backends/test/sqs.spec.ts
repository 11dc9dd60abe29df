import { afterAll, describe, expect, it } from '@jest/globals';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { resolveBackend, sqsClientConfig, stopAllBackends } from '../src/index.js';

const sqs = await resolveBackend('sqs');
afterAll(stopAllBackends);

describe('sqs', () => {
  const available = sqs.available ? it : it.skip;

  available('is one shared instance per process', async () => {
    expect(await resolveBackend('sqs')).toBe(sqs);
  });

  available('creates a queue, sends, receives and deletes a message', async () => {
    if (!sqs.available) return;
    const client = new SQSClient(sqsClientConfig(sqs.url));
    try {
      const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: `backends-${Date.now()}` }));
      if (sqs.via === 'emulator') expect(new URL(QueueUrl!).hostname).toBe('sqs.us-east-1.localhost');
      await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'sqs ok' }));
      const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 2 }));
      expect(Messages.map((m) => m.Body)).toEqual(['sqs ok']);
      await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages[0].ReceiptHandle }));
      const { Attributes } = await client.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      expect(Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
      await client.send(new DeleteQueueCommand({ QueueUrl }));
    } finally {
      client.destroy();
    }
  });

  if (!sqs.available) it(`is unavailable: ${sqs.reason}`, () => expect(sqs.reason).toContain('SQS_ENDPOINT'));
});
