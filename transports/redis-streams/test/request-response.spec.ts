import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { from, lastValueFrom, toArray } from 'rxjs';
import {
  InvalidOptionError,
  PayloadTooLargeError,
  RedisStreamsClient,
  RedisStreamsContext,
  RedisStreamsRecordBuilder,
  RedisStreamsServer,
} from '../src/index.js';
import { client, Fixture, names, redisBackend, startApp } from './helpers.js';

const n = names('rr');

@Controller()
class Arithmetic {
  @MessagePattern('sum')
  sum(@Payload() values: number[]) {
    return values.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('count')
  count(@Payload() upTo: number) {
    return from(Array.from({ length: upTo }, (_, i) => i + 1));
  }

  @MessagePattern('fail')
  fail() {
    throw new RpcException({ status: 'error', message: 'refused on purpose' });
  }

  @MessagePattern('context')
  context(@Ctx() ctx: RedisStreamsContext) {
    return { stream: ctx.getStream(), group: ctx.getGroup(), request: ctx.isRequest(), attempt: ctx.getDeliveryAttempt(), tenant: ctx.getFields().tenant };
  }
}

const backend = await redisBackend();
const suite = backend.url ? describe : describe.skip;

suite(`Redis Streams request-response ${backend.reason ?? ''}`, () => {
  const url = backend.url!;
  let fixture: Fixture;
  let app: INestMicroservice;
  let rpc: RedisStreamsClient;

  beforeAll(async () => {
    fixture = await Fixture.open(url, n.stream);
    ({ app } = await startApp(url, [Arithmetic], { stream: n.stream, replyPrefix: n.replyPrefix }));
    rpc = client(url, { stream: n.stream, replyPrefix: n.replyPrefix });
    await rpc.connect();
  });

  afterAll(async () => {
    await rpc?.close();
    await app?.close();
    await fixture?.close();
  });

  it('answers a request through the client reply stream', async () => {
    await expect(lastValueFrom(rpc.send('sum', [1, 2, 3]))).resolves.toBe(6);
  });

  it('streams every value of an observable, in order', async () => {
    await expect(lastValueFrom(rpc.send('count', 50).pipe(toArray()))).resolves.toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('answers many concurrent requests', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => lastValueFrom(rpc.send('sum', [i, 1]))));
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('passes RpcException errors and the no-handler error', async () => {
    await expect(lastValueFrom(rpc.send('fail', {}))).rejects.toMatchObject({ message: 'refused on purpose' });
    await expect(lastValueFrom(rpc.send('nobody', {}))).rejects.toMatch(/no matching message handler/i);
  });

  it('gives handlers a context with the entry, its fields and the group', async () => {
    const record = new RedisStreamsRecordBuilder({}).setFields({ tenant: 'acme', 'nest-id': 'forged' }).build();
    await expect(lastValueFrom(rpc.send('context', record))).resolves.toEqual({ stream: n.stream, group: 'nest', request: true, attempt: 1, tenant: 'acme' });
  });

  it('acknowledges answered requests and keeps its reply stream trimmed and expiring', async () => {
    expect(await fixture.settled(n.stream, 'nest')).toBe(0);
    const key = rpc.replyStreamName!;
    expect(key.startsWith(n.replyPrefix)).toBe(true);
    const ttl = Number(await fixture.redis.pttl(key));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // Replies read are trimmed away once nothing is pending (the last one stays as the read position).
    const deadline = Date.now() + 5000;
    while (Number(await fixture.redis.xlen(key)) > 1 && Date.now() < deadline) await lastValueFrom(rpc.send('sum', [0]));
    expect(Number(await fixture.redis.xlen(key))).toBeLessThanOrEqual(1);
  });

  it('deletes its reply stream on close; a late reply never re-creates it', async () => {
    const other = client(url, { stream: n.stream, replyPrefix: n.replyPrefix });
    await lastValueFrom(other.send('sum', [1]));
    const key = other.replyStreamName!;
    expect(await fixture.redis.exists(key)).toBe(1);
    await other.close();
    expect(await fixture.redis.exists(key)).toBe(0);
    // A request naming the gone stream: the server answers into nothing and creates no key.
    await fixture.redis.xadd(
      n.stream,
      '*',
      'nest-pattern',
      'sum',
      'nest-id',
      'late',
      'nest-reply-to',
      key,
      'body',
      JSON.stringify({ pattern: 'sum', data: [1], id: 'late' }),
    );
    expect(await fixture.settled(n.stream, 'nest')).toBe(0);
    expect(await fixture.redis.exists(key)).toBe(0);
  });

  it('never writes a reply outside the reply prefix', async () => {
    const victim = `${n.stream}:victim`;
    await fixture.redis.xadd(victim, '*', 'keep', '1');
    await fixture.redis.xadd(
      n.stream,
      '*',
      'nest-pattern',
      'sum',
      'nest-id',
      'x',
      'nest-reply-to',
      victim,
      'body',
      JSON.stringify({ pattern: 'sum', data: [1], id: 'x' }),
    );
    expect(await fixture.settled(n.stream, 'nest')).toBe(0);
    expect(await fixture.redis.xlen(victim)).toBe(1);
  });

  it('refuses an entry over maxMessageBytes before sending it', async () => {
    const small = client(url, { stream: n.stream, replyPrefix: n.replyPrefix, maxMessageBytes: 1000 });
    try {
      await expect(lastValueFrom(small.send('sum', ['x'.repeat(2000)]))).rejects.toBeInstanceOf(PayloadTooLargeError);
      await expect(lastValueFrom(small.emit('sum', 'x'.repeat(2000)))).rejects.toBeInstanceOf(PayloadTooLargeError);
    } finally {
      await small.close();
    }
  });

  it('times out with requestTimeout when no server reads the stream', async () => {
    const lonely = client(url, { stream: `${n.stream}:nobody`, replyPrefix: n.replyPrefix, requestTimeout: 300 });
    try {
      await expect(lastValueFrom(lonely.send('sum', [1]))).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    } finally {
      await lonely.close();
    }
  });

  it('validates options at construction, naming the option and the fix', () => {
    expect(() => new RedisStreamsServer({} as never)).toThrow(InvalidOptionError);
    expect(() => new RedisStreamsServer({} as never)).toThrow(/option "stream" is missing\. Name the stream/);
    expect(() => new RedisStreamsServer({ stream: 's', claimIdle: 5 })).toThrow(/option "claimIdle" is 5\. Use a whole number from 100/);
    expect(() => new RedisStreamsServer({ stream: 's', deadLetterStream: 's' })).toThrow(/"deadLetterStream" is the stream itself/);
    expect(() => new RedisStreamsServer({ stream: 's', maxDeliverys: 3 } as never)).toThrow(/"maxDeliverys" is not an option/);
    expect(() => new RedisStreamsClient({ stream: 's', maxLen: 10, minIdAge: 1000 })).toThrow(/"minIdAge" is set together with maxLen/);
    expect(() => new RedisStreamsClient({ stream: 's', url: 'http://x' })).toThrow(/option "url"/);
  });

  it('reports an unreachable Redis on connect and on listen', async () => {
    const lost = new RedisStreamsClient({ stream: 's', url: 'redis://127.0.0.1:1', connectTimeout: 1000, redisOptions: { retryStrategy: () => null } });
    await expect(lost.connect()).rejects.toMatchObject({ code: 'BACKEND_UNREACHABLE' });
    await lost.close();
    const strategy = new RedisStreamsServer({ stream: 's', url: 'redis://127.0.0.1:1', connectTimeout: 1000, redisOptions: { retryStrategy: () => null } });
    const err = await new Promise((resolve) => void strategy.listen(resolve));
    expect(err).toMatchObject({ code: 'BACKEND_UNREACHABLE' });
  });
});
