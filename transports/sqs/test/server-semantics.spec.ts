import { afterEach, expect, it } from '@jest/globals';
import { QueueDoesNotExist, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { ConnectionClosedError, InvalidOptionError, RequestTimeoutError } from '@nest-transports/shared';
import { scaled, within } from '@nest-transports/backends';
import { resolveClientOptions, SqsClient, type SqsContext, SqsRecord } from '../src/index.js';
import { Collector, deferred, describeSqs, eventually, type SqsTestBed } from './helpers.js';

const state = {
  runs: new Map<string, number>(),
  active: 0,
  maxActive: 0,
  done: new Collector<string>(),
  started: deferred(),
  release: deferred(),
  server: '',
};

@Controller()
class SemanticsController {
  /** A slow FIFO handler: 1.5 s, longer than the queue's visibility timeout of 2 s divided by two. */
  @EventPattern<string>('slow')
  async slow(@Payload() id: string) {
    state.runs.set(id, (state.runs.get(id) ?? 0) + 1);
    state.maxActive = Math.max(state.maxActive, ++state.active);
    await new Promise((r) => setTimeout(r, 1500));
    state.active--;
    state.done.push(id);
  }

  @EventPattern<string>('hang')
  async hang() {
    state.started.resolve();
    await state.release.promise;
  }

  @EventPattern<string>('mark')
  mark(@Payload() id: string) {
    state.runs.set(id, (state.runs.get(id) ?? 0) + 1);
    state.done.push(`${id}@${state.server}`);
  }

  @MessagePattern('work')
  work(@Payload() id: string, @Ctx() ctx: SqsContext) {
    state.runs.set(id, (state.runs.get(id) ?? 0) + 1);
    state.done.push(`${id}#${ctx.getReceiveCount()}`);
    return `done ${id}`;
  }
}

/** A server-side SQS client whose sends to reply queues fail with `error` (`times` times, or always). */
function failingReplies(bed: SqsTestBed, error: () => Error, times = Infinity) {
  const sqs = new SQSClient(bed.config);
  let failures = 0;
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { QueueUrl?: string };
      if (/Send/.test(context.commandName ?? '') && input.QueueUrl?.includes('nest-reply') && failures < times) {
        failures++;
        throw error();
      }
      return next(args);
    },
    { step: 'initialize' },
  );
  return { sqs, failures: () => failures };
}

describeSqs('SqsServer semantics on real SQS rules', (bed) => {
  afterEach(async () => {
    state.release.resolve();
    await bed.closeAll();
    state.runs.clear();
    state.active = state.maxActive = 0;
    state.done = new Collector();
    state.started = deferred();
    state.release = deferred();
    state.server = '';
  });

  // AWS: a received message is hidden for the visibility timeout; one not deleted by then is handed out again.
  it('#1 keeps every held FIFO message invisible until settled: no handler runs twice or alongside its group', async () => {
    const queue = await bed.queue('slow-fifo', { FifoQueue: 'true', VisibilityTimeout: '2' });
    await bed.app(SemanticsController, { queues: [queue] });
    const client = bed.client({ queue });
    for (const id of ['a', 'b', 'c', 'd']) await firstValueFrom(client.emit('slow', new SqsRecord(id, { messageGroupId: 'g' })));
    expect(await state.done.wait(4, 20_000)).toEqual(['a', 'b', 'c', 'd']);
    // Once every message is deleted, no copy of one can be handed out any more.
    await eventually(async () => {
      const { visible, inFlight } = await bed.counts(queue);
      return visible === 0 && inFlight === 0;
    }, 15_000);
    expect(Object.fromEntries(state.runs)).toEqual({ a: 1, b: 1, c: 1, d: 1 });
    expect(state.maxActive).toBe(1);
    expect(state.done.items).toEqual(['a', 'b', 'c', 'd']);
  }, 40_000);

  // AWS: "after you create a queue, you must wait at least one second after the queue is created to be able to use the queue".
  it('#2 delivers a reply although the new reply queue is not usable yet (QueueDoesNotExist at first)', async () => {
    const queue = await bed.queue('propagating');
    const propagating = failingReplies(bed, () => new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} }), 2);
    try {
      await bed.app(SemanticsController, { queues: [queue], sqs: propagating.sqs });
      const client = bed.client({ queue });
      expect(await firstValueFrom(client.send('work', 'p1').pipe(timeout(scaled(15_000))))).toBe('done p1');
      expect(propagating.failures()).toBe(2);
      expect(state.runs.get('p1')).toBe(1);
    } finally {
      await bed.closeAll();
      propagating.sqs.destroy();
    }
  });

  it('#2 a request that cannot be answered fails its caller after requestTimeout, 60 s by default', () => {
    expect(resolveClientOptions({ queue: 'orders' }).requestTimeout).toBe(60_000);
    expect(resolveClientOptions({ queue: 'orders', requestTimeout: 0 }).requestTimeout).toBe(0);
  });

  it('#4 close() ends within closeTimeout although a handler never settles; the late handler reaches SQS no more', async () => {
    const queue = await bed.queue('close-timeout');
    const { sqs, calls } = bed.countingClient();
    const { app, server } = await bed.app(SemanticsController, { queues: [queue], closeTimeout: 500, sqs });
    const refused = deferred<unknown>();
    server.on('error', (err) => refused.resolve(err));
    const client = bed.client({ queue });
    await firstValueFrom(client.emit('hang', 1));
    await within(state.started.promise, 10_000, 'the handler to start');
    await within(app.close(), 10_000, 'app.close() with a handler that never settles');
    const before = JSON.stringify(calls);
    state.release.resolve(); // the handler ends after its server closed: its delete is refused, not sent
    expect(await within(refused.promise, 10_000, 'the late delete to be refused')).toBeInstanceOf(ConnectionClosedError);
    expect(JSON.stringify(calls)).toBe(before);
  });

  // AWS (ReceiveMessage): messages handed to a long poll stay invisible for the visibility timeout, whether or not its caller is still there.
  it('#5 close() hands back what its last long poll receives: another server gets it at once', async () => {
    const queue = await bed.queue('handover', { VisibilityTimeout: '30' });
    state.server = 'A';
    const first = await bed.app(SemanticsController, { queues: [queue], waitTimeSeconds: 20 });
    const sender = bed.client({ queue });
    await sender.connect();
    await new Promise((r) => setTimeout(r, 500)); // A's long poll is open
    const closing = first.app.close();
    await firstValueFrom(sender.emit('mark', 'm1')); // arrives while A closes
    await within(closing, 25_000, 'A to close');
    state.server = 'B';
    await bed.app(SemanticsController, { queues: [queue], waitTimeSeconds: 1 });
    expect(await state.done.wait(1, 10_000)).toEqual(['m1@B']);
  }, 45_000);

  it('#9 a handler that ran is not run again because its reply was refused (no permission)', async () => {
    const queue = await bed.queue('refused', { VisibilityTimeout: '1' });
    const denied = () => Object.assign(new Error('Access to the resource is denied.'), { name: 'AccessDenied', $fault: 'client' });
    const refusing = failingReplies(bed, denied);
    try {
      await bed.app(SemanticsController, { queues: [queue], sqs: refusing.sqs, retryDelaySeconds: 0 });
      const client = bed.client({ queue, requestTimeout: 1_000 });
      await expect(firstValueFrom(client.send('work', 'r1'))).rejects.toBeInstanceOf(RequestTimeoutError);
      await eventually(async () => {
        const { visible, inFlight } = await bed.counts(queue);
        return visible === 0 && inFlight === 0;
      }, 10_000);
      expect(refusing.failures()).toBeGreaterThan(0);
      expect(state.done.items).toEqual(['r1#1']);
    } finally {
      await bed.closeAll();
      refusing.sqs.destroy();
    }
  });

  it('#9 a request whose reply queue is FIFO runs once (the reply cannot be sent there)', async () => {
    const queue = await bed.queue('to-fifo', { VisibilityTimeout: '1' });
    const replies = await bed.queue('replies', { FifoQueue: 'true' });
    await bed.app(SemanticsController, { queues: [queue], retryDelaySeconds: 0 });
    // A request from another producer that names a FIFO queue for its reply.
    await bed.sqs.send(
      new SendMessageCommand({
        QueueUrl: queue,
        MessageBody: JSON.stringify({ pattern: 'work', data: 'f1', id: 'req-1' }),
        MessageAttributes: {
          'nest-pattern': { DataType: 'String', StringValue: 'work' },
          'nest-id': { DataType: 'String', StringValue: 'req-1' },
          'nest-reply-to': { DataType: 'String', StringValue: replies },
        },
      }),
    );
    await state.done.wait(1);
    await eventually(async () => {
      const { visible, inFlight } = await bed.counts(queue);
      return visible === 0 && inFlight === 0;
    }, 10_000);
    expect(state.done.items).toEqual(['f1#1']);
  });

  it('#9 refuses a reply queue that cannot work, when the client is constructed', () => {
    const fifo = () => new SqsClient({ queue: 'orders', replyQueue: 'replies.fifo' });
    expect(fifo).toThrow(InvalidOptionError);
    expect(fifo).toThrow(/option "replyQueue" is "replies.fifo".*standard queue/);
    expect(() => new SqsClient({ queue: 'orders', replyQueue: 'orders' })).toThrow(/option "replyQueue" is the queue requests go to/);
  });
});
