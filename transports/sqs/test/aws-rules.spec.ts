import { afterEach, expect, it } from '@jest/globals';
import { GetQueueUrlCommand, ListQueueTagsCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { InvalidOptionError, uniqueName } from '@nest-transports/shared';
import { removeIdleReplyQueues, SqsContext, SqsCredentialsExpiredError, SqsRecord, SqsRecordBuilder } from '../src/index.js';
import { FIFO_ID } from '../src/fifo-ids.js';
import { scaled } from '@nest-transports/backends';
import { Collector, describeSqs } from './helpers.js';

const LONG = 'x'.repeat(130);
let seen = new Collector<{ pattern: string; group?: string; value: unknown }>();

@Controller()
class RulesController {
  @EventPattern<string>('order created')
  spaced(@Payload() value: unknown, @Ctx() ctx: SqsContext) {
    seen.push({ pattern: 'order created', group: ctx.getMessageGroupId(), value });
  }

  @EventPattern<string>('commande.créée')
  accented(@Payload() value: unknown, @Ctx() ctx: SqsContext) {
    seen.push({ pattern: 'commande.créée', group: ctx.getMessageGroupId(), value });
  }

  @EventPattern({ cmd: 'a b' })
  objectPattern(@Payload() value: unknown, @Ctx() ctx: SqsContext) {
    seen.push({ pattern: '{cmd: a b}', group: ctx.getMessageGroupId(), value });
  }

  @EventPattern<string>(`${LONG}-1`)
  long1(@Payload() value: unknown, @Ctx() ctx: SqsContext) {
    seen.push({ pattern: 'long-1', group: ctx.getMessageGroupId(), value });
  }

  @EventPattern<string>(`${LONG}-2`)
  long2(@Payload() value: unknown, @Ctx() ctx: SqsContext) {
    seen.push({ pattern: 'long-2', group: ctx.getMessageGroupId(), value });
  }

  @EventPattern<string>('step')
  step(@Payload() value: unknown, @Ctx() ctx: SqsContext) {
    seen.push({ pattern: 'step', group: ctx.getMessageGroupId(), value });
  }

  @MessagePattern('echo')
  echo(@Payload() value: unknown) {
    return value;
  }
}

describeSqs('AWS rules the transport keeps (checked on strict ElasticMQ)', (bed) => {
  afterEach(async () => {
    await bed.closeAll();
    seen = new Collector();
  });

  /** An SQSClient that counts the calls it makes, by command name. */
  const counting = () => {
    const { sqs, calls } = bed.countingClient();
    return { sqs, calls, sends: () => (calls.SendMessage ?? 0) + (calls.SendMessageBatch ?? 0) };
  };

  // AWS: "MessageGroupId … can contain alphanumeric characters and punctuation", up to 128 characters.
  it('#3 derives a valid, stable FIFO group from any pattern, and distinct patterns get distinct groups', async () => {
    const queue = await bed.queue('groups', { FifoQueue: 'true' });
    await bed.app(RulesController, { queues: [queue] });
    const client = bed.client({ queue });
    const patterns: unknown[] = ['order created', 'commande.créée', { cmd: 'a b' }, `${LONG}-1`, `${LONG}-2`];
    for (const pattern of patterns) await firstValueFrom(client.emit(pattern, 1));
    await firstValueFrom(client.emit('order created', 2));
    const items = await seen.wait(6, 15_000);
    for (const item of items) expect(item.group).toMatch(FIFO_ID);
    const groupOf = (pattern: string) => items.filter((i) => i.pattern === pattern).map((i) => i.group);
    expect(new Set(groupOf('order created')).size).toBe(1); // stable
    expect(groupOf('long-1')[0]).not.toBe(groupOf('long-2')[0]); // no collision past 128 characters
    expect(new Set(items.map((i) => i.group)).size).toBe(5);
  });

  it('#3 refuses an invalid user-given group or deduplication id with a clear error before any call', async () => {
    const queue = await bed.queue('bad-groups', { FifoQueue: 'true' });
    const { sqs, sends } = counting();
    const client = bed.client({ queue, sqs });
    await client.connect();
    const fail = (pattern: string, data: unknown) => firstValueFrom(client.emit(pattern, data)).catch((err) => err);
    const byRecord = await fail('step', new SqsRecord(1, { messageGroupId: 'a b' }));
    expect(byRecord).toBeInstanceOf(InvalidOptionError);
    expect(byRecord.message).toMatch(/option "messageGroupId" is "a b" \(SqsRecord\).*ASCII letters, digits and punctuation/);
    expect((await fail('step', new SqsRecord(1, { deduplicationId: 'é' }))).message).toMatch(/option "deduplicationId"/);
    expect(() => new SqsRecordBuilder(1).setMessageGroupId('x'.repeat(129))).toThrow(/option "messageGroupId"/);
    const byFunction = bed.client({ queue, sqs, messageGroupId: () => 'tenant 7' });
    const err = await firstValueFrom(byFunction.send('echo', 1)).catch((e) => e);
    expect(err.message).toMatch(/option "messageGroupId" is "tenant 7" \(returned for pattern "echo"\)/);
    expect(sends()).toBe(0);
    expect(await byFunction.getReplyQueueUrl()).toBeUndefined(); // refused before the reply queue was made
  });

  it('#6 uses an SQS client from another copy of the SDK (anything with send()), with its endpoint and credentials', async () => {
    const queue = await bed.queue('foreign');
    const theirs = new SQSClient(bed.config);
    // Not an instance of the SQSClient class this package imports: what a second copy of the SDK looks like.
    const foreign = { send: (command: unknown, options?: unknown) => theirs.send(command as never, options as never) };
    try {
      await bed.app(RulesController, { queues: [queue], sqs: foreign });
      const client = bed.client({ queue, sqs: foreign });
      expect(await firstValueFrom(client.send('echo', 'hi'))).toBe('hi');
      expect(client.unwrap()).toBe(foreign);
    } finally {
      await bed.closeAll();
      theirs.destroy();
    }
  });

  it('#7 answers at once while 50 long polls are open: they cannot take every connection', async () => {
    const queue = await bed.queue('pollers');
    await bed.app(RulesController, { queues: [queue], pollers: 50, batchSize: 1, maxConcurrency: 100, waitTimeSeconds: 20 });
    const client = bed.client({ queue });
    await client.connect();
    // A reply stuck behind the long polls would come only when one of them ends, 20 s later.
    for (let i = 0; i < 3; i++) expect(await firstValueFrom(client.send('echo', i).pipe(timeout(scaled(10_000))))).toBe(i);
  });

  it('#7 refuses more pollers than a given client has connections for, naming the option', async () => {
    const queue = await bed.queue('pool');
    const given = bed.countingClient().sqs; // the SDK's default pool: 50 connections
    const err = await bed.app(RulesController, { queues: [queue], sqs: given, pollers: 45 }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err.message).toMatch(/option "pollers" is 45 per queue.*at most 50 connections.*Use at most 40 pollers/);
    await expect(bed.app(RulesController, { queues: [queue], sqs: given, pollers: 40 })).resolves.toBeDefined();
  });

  // AWS: "For a FIFO queue, multiple messages within a single batch are enqueued in the order they are sent."
  it('#8 keeps call order on a FIFO queue when a batch entry fails and is retried', async () => {
    const queue = await bed.queue('retry-order', { FifoQueue: 'true' });
    const sqs = new SQSClient(bed.config);
    let failed = false;
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Entries?: Array<{ Id: string }> };
        if (context.commandName !== 'SendMessageBatchCommand' || failed || (input.Entries?.length ?? 0) < 5) return next(args);
        // The service refuses entry 2 with a server-side error; a FIFO batch stops there, so the rest fail with it.
        failed = true;
        const refused = input.Entries!.slice(2);
        input.Entries = input.Entries!.slice(0, 2);
        const result = await next(args);
        const output = result.output as { Failed?: unknown[] };
        output.Failed = [...(output.Failed ?? []), ...refused.map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false }))];
        return result;
      },
      { step: 'initialize' },
    );
    try {
      await bed.app(RulesController, { queues: [queue] });
      const client = bed.client({ queue, sqs });
      await client.connect();
      await Promise.all(Array.from({ length: 30 }, (_, i) => firstValueFrom(client.emit('step', i))));
      const items = await seen.wait(30, 15_000);
      expect(failed).toBe(true);
      expect(items.map((i) => i.value)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    } finally {
      await bed.closeAll();
      sqs.destroy();
    }
  });

  // AWS: queue names have up to 80 characters (letters, digits, "-", "_"; a FIFO queue's ".fifo" included).
  it('#10 consumes and sends to a queue whose name has 80 characters', async () => {
    const name = `n80-${Date.now().toString(36)}-`.padEnd(80, 'q');
    const queue = await bed.queueNamed(name);
    await bed.app(RulesController, { queues: [name] });
    const client = bed.client({ queue: name });
    expect(await firstValueFrom(client.send('echo', 80))).toBe(80);
    expect(queue).toContain(name);
  });

  // AWS: a message attribute's value must not be empty, and a Number must be a number.
  it('#10 refuses an empty or NaN attribute value before any call, naming the attribute', async () => {
    const queue = await bed.queue('attrs');
    const { sqs, sends } = counting();
    const client = bed.client({ queue, sqs });
    const attempt = (attributes: Record<string, string | number>) =>
      firstValueFrom(client.emit('step', new SqsRecordBuilder(1).setMessageAttributes(attributes).build())).catch((e) => e);
    expect((await attempt({ tenant: '' })).message).toMatch(/option "messageAttributes.tenant" is empty/);
    expect((await attempt({ weight: Number.NaN })).message).toMatch(/option "messageAttributes.weight" is "NaN", not a number/);
    expect(sends()).toBe(0);
    await firstValueFrom(client.emit('step', new SqsRecordBuilder(1).setMessageAttributes({ tenant: 'acme', weight: 2.5 }).build()));
    expect(sends()).toBe(1);
  });

  it('#10 explains expired session credentials', async () => {
    const expired = Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken' });
    const client = bed.client({ queue: 'orders', sqs: { send: () => Promise.reject(expired) } });
    const err = await client.connect().catch((e) => e);
    expect(err).toBeInstanceOf(SqsCredentialsExpiredError);
    expect(err.message).toMatch(/have expired .* provider function/);
  });

  it('#10 tags a reply queue with its owner and last use', async () => {
    const queue = await bed.queue('tagged');
    await bed.app(RulesController, { queues: [queue] });
    const client = bed.client({ queue });
    await firstValueFrom(client.send('echo', 1));
    const { Tags = {} } = await bed.sqs.send(new ListQueueTagsCommand({ QueueUrl: (await client.getReplyQueueUrl())! }));
    expect(Tags).toMatchObject({ 'nest-transports': 'reply-queue', 'nest-owner': expect.stringContaining(`/${process.pid}`) });
    expect(Date.now() - Date.parse(Tags['nest-last-used'])).toBeLessThan(60_000);
  });

  it('#10 removeIdleReplyQueues() removes the reply queues crashed clients left, and nothing else', async () => {
    const prefix = uniqueName('rq').replace(/-/g, '');
    const queue = await bed.queue('cleanup');
    await bed.app(RulesController, { queues: [queue] });
    const live = bed.client({ queue, replyQueuePrefix: prefix });
    await firstValueFrom(live.send('echo', 1));
    const liveUrl = (await live.getReplyQueueUrl())!;
    // What a client killed two hours ago leaves: its reply queue, last marked alive then.
    const crashedAt = new Date(Date.now() - 2 * 3600_000).toISOString();
    const tags = { 'nest-transports': 'reply-queue', 'nest-owner': 'gone-host/1234', 'nest-last-used': crashedAt };
    const crashed = await bed.queueNamed(`${prefix}-crashed`, {}, tags);
    const unrelated = await bed.queueNamed(`${prefix}-not-a-reply-queue`);
    const dry = await removeIdleReplyQueues({ sqs: bed.config, prefix, dryRun: true });
    expect(dry.map((q) => q.url)).toEqual([crashed]);
    const removed = await removeIdleReplyQueues({ sqs: bed.config, prefix });
    expect(removed).toEqual([{ url: crashed, owner: 'gone-host/1234', lastUsed: new Date(crashedAt) }]);
    const exists = (QueueName: string) =>
      bed.sqs.send(new GetQueueUrlCommand({ QueueName })).then(
        () => true,
        () => false,
      );
    expect(await exists(`${prefix}-crashed`)).toBe(false);
    expect(await exists(`${prefix}-not-a-reply-queue`)).toBe(true);
    expect(await exists(new URL(liveUrl).pathname.split('/').pop()!)).toBe(true);
    expect(await firstValueFrom(live.send('echo', 2))).toBe(2); // the live client is untouched
    expect(unrelated).toContain(prefix);
    await expect(removeIdleReplyQueues({ sqs: bed.config, idleSeconds: 60 })).rejects.toThrow(/option "idleSeconds" is 60.*1200 or more/);
  });
});
