import { beforeAll, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { firstValueFrom, from, lastValueFrom, timer, toArray, EMPTY, type Observable } from 'rxjs';
import { map, take } from 'rxjs/operators';
import { PayloadTooLargeError, RequestTimeoutError } from '@nest-transports/shared';
import { SqsContext, SqsRecordBuilder, type SqsClient } from '../src/index.js';
import { describeSqs } from './helpers.js';

@Controller()
class MathController {
  @MessagePattern('sum')
  sum(@Payload() numbers: number[]): number {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern({ cmd: 'sum', v: 2 })
  async sumAsync(@Payload() numbers: number[]): Promise<number> {
    return numbers.reduce((a, b) => a + b, 0) * 10;
  }

  @MessagePattern('count')
  count(@Payload() n: number): Observable<number> {
    // Values spaced out so every one is its own reply message.
    return timer(0, 5).pipe(
      take(n),
      map((i) => i + 1),
    );
  }

  @MessagePattern('count-now')
  countNow(@Payload() n: number): Observable<number> {
    return from(Array.from({ length: n }, (_, i) => i + 1));
  }

  @MessagePattern('nothing')
  nothing(): Observable<never> {
    return EMPTY;
  }

  @MessagePattern('rpc-fail')
  rpcFail(): never {
    throw new RpcException({ code: 'E_BAD', detail: 'bad input' });
  }

  @MessagePattern('plain-fail')
  plainFail(): never {
    throw new Error('secret internals');
  }

  @MessagePattern('ctx')
  ctx(@Payload() _data: unknown, @Ctx() ctx: SqsContext) {
    return {
      isContext: ctx instanceof SqsContext,
      queueUrl: ctx.getQueueUrl(),
      pattern: ctx.getPattern(),
      attrs: Object.fromEntries(Object.entries(ctx.getMessageAttributes()).map(([k, v]) => [k, v.StringValue])),
      receiveCount: ctx.getReceiveCount(),
      hasBody: typeof ctx.getMessage().Body === 'string',
    };
  }

  @MessagePattern('slow')
  async slow(@Payload() ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return 'late';
  }
}

describeSqs('SqsServer + SqsClient: request-reply', (bed) => {
  let queueUrl: string;
  let client: SqsClient;

  beforeAll(async () => {
    queueUrl = await bed.queue('rr');
    await bed.app(MathController, { queues: [queueUrl], pollers: 2 });
    client = bed.client({ queue: queueUrl });
  });

  it('answers a request', async () => {
    expect(await firstValueFrom(client.send('sum', [1, 2, 3]))).toBe(6);
  });

  it('matches an object pattern whatever the key order, with an async handler', async () => {
    expect(await firstValueFrom(client.send({ v: 2, cmd: 'sum' }, [1, 2]))).toBe(30);
  });

  it('streams every value of an Observable handler in order, then completes', async () => {
    expect(await lastValueFrom(client.send('count', 6).pipe(toArray()))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await lastValueFrom(client.send('count-now', 12).pipe(toArray()))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('completes an empty stream without values', async () => {
    expect(await lastValueFrom(client.send('nothing', {}).pipe(toArray()))).toEqual([]);
  });

  it('answers an unknown pattern with Nest\'s "no matching message handler" error', async () => {
    await expect(firstValueFrom(client.send('nope', 1))).rejects.toBe('There is no matching message handler defined in the remote service.');
  });

  it("carries an RpcException's error object intact", async () => {
    await expect(firstValueFrom(client.send('rpc-fail', 1))).rejects.toEqual({ code: 'E_BAD', detail: 'bad input' });
  });

  it("turns a plain Error into Nest's internal error, without the stack", async () => {
    const err = await firstValueFrom(client.send('plain-fail', 1)).catch((e) => e);
    expect(err).toEqual({ status: 'error', message: 'Internal server error' });
  });

  it("gives the handler an SqsContext with the record's attributes", async () => {
    const record = new SqsRecordBuilder([1]).setMessageAttributes({ tenant: 'acme', weight: 3 }).build();
    const seen = await firstValueFrom(client.send('ctx', record));
    expect(seen).toEqual({ isContext: true, queueUrl, pattern: 'ctx', attrs: { tenant: 'acme', weight: '3' }, receiveCount: 1, hasBody: true });
  });

  it('answers concurrent requests each to its own caller', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => firstValueFrom(client.send('sum', [i, i]))));
    expect(answers).toEqual(Array.from({ length: 40 }, (_, i) => 2 * i));
  });

  it('routes replies to the right replica when several clients share the queue', async () => {
    const replicas = [bed.client({ queue: queueUrl }), bed.client({ queue: queueUrl }), bed.client({ queue: queueUrl })];
    const answers = await Promise.all(
      replicas.flatMap((c, r) => Array.from({ length: 5 }, (_, i) => firstValueFrom(c.send('sum', [r * 100, i])).then((v) => [r, v]))),
    );
    for (const [r, v] of answers) expect(Math.floor(v / 100)).toBe(r);
    const urls = await Promise.all(replicas.map((c) => c.getReplyQueueUrl()));
    expect(new Set(urls).size).toBe(3);
    await Promise.all(replicas.map((c) => c.close()));
  });

  it('fails a payload over the limit with a clear error before sending anything', async () => {
    const small = bed.client({ queue: queueUrl, maxMessageBytes: 2048 });
    const err = await firstValueFrom(small.send('sum', 'x'.repeat(4096))).catch((e) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err.message).toMatch(/over the limit of 2048 bytes/);
    await expect(firstValueFrom(small.emit('sum', 'x'.repeat(4096)))).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await small.getReplyQueueUrl()).toBeUndefined(); // nothing was created for it
    expect(await firstValueFrom(client.send('sum', [2, 2]))).toBe(4); // server unharmed
    await small.close();
  });

  it('times out a request with requestTimeout, and serves the next one', async () => {
    // requestTimeout also bounds the next request's round trip through SQS: 200 ms was not enough on a
    // loaded machine. The slow handler outlasts it threefold, so the timeout is still what ends the first.
    const impatient = bed.client({ queue: queueUrl, requestTimeout: 3000 });
    await expect(firstValueFrom(impatient.send('slow', 9000))).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(await firstValueFrom(impatient.send('sum', [5]))).toBe(5);
    await impatient.close();
  });

  it('removes the reply queue it created on close', async () => {
    const temp = bed.client({ queue: queueUrl });
    expect(await firstValueFrom(temp.send('sum', [1]))).toBe(1);
    const replyUrl = (await temp.getReplyQueueUrl())!;
    await temp.close();
    await expect(bed.counts(replyUrl)).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  });
});
