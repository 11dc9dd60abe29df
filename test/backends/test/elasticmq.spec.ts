import { afterAll, describe, expect, it } from '@jest/globals';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { canStartElasticMq, elasticMqRegion } from '../src/elasticmq.js';
import { failedStart } from './failed-start.js';
import { resolveBackend, sqsClientConfig, stopAllBackends } from '../src/index.js';

const elasticmq = await resolveBackend('elasticmq');
afterAll(stopAllBackends);

describe('elasticmq', () => {
  const available = elasticmq.available ? it : it.skip;

  available('is one shared server per process', async () => {
    expect(await resolveBackend('elasticmq')).toBe(elasticmq);
  });

  available('serves SQS with strict limits, in the configured region', async () => {
    if (!elasticmq.available) return;
    const client = new SQSClient(sqsClientConfig(elasticmq.url, elasticMqRegion()));
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: `backends-${Date.now()}.fifo`, Attributes: { FifoQueue: 'true' } }));
    try {
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
      if (elasticmq.via === 'emulator') expect(Attributes?.QueueArn).toMatch(new RegExp(`^arn:aws:sqs:${elasticMqRegion()}:`));
      // Strict: AWS allows only alphanumerics and punctuation in a MessageGroupId (fauxqs takes anything).
      const send = (MessageGroupId: string) =>
        client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x', MessageGroupId, MessageDeduplicationId: MessageGroupId.replace(/\W/g, '') }));
      await expect(send('with space')).rejects.toThrow();
      await send('ok-group');
      const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 }));
      expect(Messages.map((m) => m.Body)).toEqual(['x']);
    } finally {
      await client.send(new DeleteQueueCommand({ QueueUrl }));
      client.destroy();
    }
  });

  (canStartElasticMq() ? it : it.skip)(
    'a server that does not come up in time fails with its log and leaves no temp folder',
    async () => {
      const { error, left } = await failedStart('startElasticMq');
      expect(error).toMatch(/did not come up[\s\S]*--- ElasticMQ log ---/);
      expect(left).toEqual([]);
    },
    60_000,
  );

  if (!elasticmq.available) it(`is unavailable: ${elasticmq.reason}`, () => expect(elasticmq.reason).toContain('ELASTICMQ_ENDPOINT'));
});
