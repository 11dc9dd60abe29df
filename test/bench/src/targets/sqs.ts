import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsClient, SqsServer } from '@nest-transports/sqs';
import { nestBenchClient } from '../nest-client.js';
import { startNestServer } from '../nest-app.js';
import { experimentOptions } from '../experiment.js';
import type { TargetModule } from '../types.js';
import { createQueue, sqsConfig } from './sqs-config.js';

/** Our SQS transport with its defaults (1 poller, receive 10, batched delete; batched emits). */
export const target: TargetModule = {
  async startServer(env) {
    const config = sqsConfig(env.url);
    const admin = new SQSClient(config);
    const queueUrl = await createQueue(admin, `${env.ns}-requests`);
    admin.destroy();
    const app = await startNestServer({ strategy: new SqsServer({ sqs: config, queues: [queueUrl], ...experimentOptions() }) }, env.onEvent);
    return { info: { queueUrl }, close: () => app.close() };
  },
  startClient: (env) => nestBenchClient(new SqsClient({ sqs: sqsConfig(env.url), queue: env.info.queueUrl as string, replyQueuePrefix: `${env.ns}-r` })),
};
