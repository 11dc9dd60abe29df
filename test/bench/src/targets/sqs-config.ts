import { CreateQueueCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';

/** SQSClient config for the emulator (fauxqs) at `url`; nothing leaves loopback. */
export function sqsConfig(url: string | undefined): SQSClientConfig {
  if (!url) throw new Error('no SQS endpoint');
  return { endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
}

/** Creates a queue and returns its URL exactly as the emulator issued it. */
export async function createQueue(sqs: SQSClient, name: string): Promise<string> {
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  return out.QueueUrl!;
}
