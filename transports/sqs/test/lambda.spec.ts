import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { SqsServer, type SqsLambdaRecord } from '../src/index.js';
import { describeSqs } from './helpers.js';

@Controller()
class LambdaController {
  @EventPattern<string>('work')
  work(@Payload() n: number) {
    if (n < 0) throw new Error('negative');
  }

  @MessagePattern('double')
  double(@Payload() n: number) {
    return n * 2;
  }
}

@Module({ controllers: [LambdaController] })
class LambdaModule {}

const record = (
  id: string,
  body: unknown,
  arn = 'arn:aws:sqs:us-east-1:000000000000:jobs',
  attrs: SqsLambdaRecord['messageAttributes'] = {},
): SqsLambdaRecord => ({
  messageId: id,
  receiptHandle: `rh-${id}`,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: { ApproximateReceiveCount: '1' },
  messageAttributes: attrs,
  eventSourceARN: arn,
});

describeSqs('SqsServer#handleLambdaEvent: the same processing behind a Lambda SQS trigger', (bed) => {
  let app: INestMicroservice;
  let server: SqsServer;

  beforeAll(async () => {
    server = new SqsServer({ sqs: bed.config, queues: ['unused-in-lambda'] });
    app = await NestFactory.createMicroservice(LambdaModule, { strategy: server, logger: false });
    await app.init(); // handlers registered, no polling
  });
  afterAll(async () => {
    await app.close();
  });

  it('reports only the failed and malformed records of a standard batch', async () => {
    const out = await server.handleLambdaEvent({
      Records: [
        record('1', { pattern: 'work', data: 1 }),
        record('2', { pattern: 'work', data: -1 }),
        record('3', 'not a packet'),
        record('4', { pattern: 'work', data: 2 }),
      ],
    });
    expect(out.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['2', '3']);
  });

  it('stops a FIFO batch at its first failure and reports the rest', async () => {
    const arn = 'arn:aws:sqs:us-east-1:000000000000:jobs.fifo';
    const out = await server.handleLambdaEvent({
      Records: [
        record('a', { pattern: 'work', data: 1 }, arn),
        record('b', { pattern: 'work', data: -1 }, arn),
        record('c', { pattern: 'work', data: 3 }, arn),
      ],
    });
    expect(out.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['b', 'c']);
  });

  it('sends replies to the reply queue before returning', async () => {
    const replyQueue = await bed.queue('lambda-reply');
    const out = await server.handleLambdaEvent({
      Records: [
        record('r', { pattern: 'double', data: 21, id: 'req-1' }, undefined, {
          'nest-reply-to': { dataType: 'String', stringValue: replyQueue },
        }),
      ],
    });
    expect(out.batchItemFailures).toEqual([]);
    const [reply] = await bed.receive(replyQueue, 0);
    expect(JSON.parse(reply.Body!)).toEqual({ id: 'req-1', response: 42, isDisposed: true });
  });
});

describeSqs('a request whose client went away', (bed) => {
  it('is deleted, not retried, when its reply queue no longer exists', async () => {
    const queue = await bed.queue('orphan');
    await bed.app(LambdaController, { queues: [queue], retryDelaySeconds: 0 });
    const client = bed.client({ queue });
    await firstValueFrom(client.send('double', 1)); // creates the reply queue
    const replyUrl = (await client.getReplyQueueUrl())!;
    await client.close(); // removes it
    await bed.send(queue, JSON.stringify({ pattern: 'double', data: 2, id: 'late' }), {
      MessageAttributes: { 'nest-reply-to': { DataType: 'String', StringValue: replyUrl } },
    });
    const { eventually } = await import('./helpers.js');
    await eventually(async () => {
      const c = await bed.counts(queue);
      return c.visible === 0 && c.inFlight === 0;
    });
  });
});
