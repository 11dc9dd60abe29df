import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { firstValueFrom, from, lastValueFrom, Observable, toArray } from 'rxjs';
import { deferred } from '@nest-transports/shared';
import {
  type JetStreamClient,
  JetStreamContext,
  JetStreamRecordBuilder,
  type JetStreamServer,
  PayloadTooLargeError,
  RequestTimeoutError,
} from '../src/index.js';
import { scaled } from '@nest-transports/backends';
import { client, Fixture, names, natsBackend, startApp } from './helpers.js';

const slowStarted = deferred();

@Controller()
class Rpc {
  @MessagePattern('sum')
  sum(@Payload() numbers: number[]) {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern({ cmd: 'echo', v: 1 })
  echo(@Payload() data: unknown) {
    return data;
  }

  @MessagePattern('count')
  count(@Payload() n: number): Observable<number> {
    return from(Array.from({ length: n }, (_, i) => i));
  }

  @MessagePattern('fail')
  fail() {
    throw new RpcException({ code: 'NOPE', reason: 'because' });
  }

  @MessagePattern<string>('headers')
  headers(@Ctx() ctx: JetStreamContext) {
    return {
      headers: ctx.getHeaderRecord(),
      subject: ctx.getSubject(),
      pattern: ctx.getPattern(),
      stream: ctx.isStreamMessage(),
      attempt: ctx.getDeliveryAttempt(),
    };
  }

  @MessagePattern('slow')
  async slow() {
    slowStarted.resolve();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return 'late';
  }

  @MessagePattern('big')
  big(@Payload() bytes: number) {
    return 'x'.repeat(bytes);
  }
}

const backend = await natsBackend();
const suite = backend.url ? describe : describe.skip;

suite(`JetStream request-response ${backend.reason ?? ''}`, () => {
  const url = backend.url!;
  const n = names('rr');
  let fixture: Fixture;
  let app: INestMicroservice;
  let server: JetStreamServer;
  let rpc: JetStreamClient;

  beforeAll(async () => {
    fixture = await Fixture.open(url);
    ({ app, server } = await startApp(url, [Rpc], { requestPrefix: n.prefix }));
    rpc = client(url, { requestPrefix: n.prefix });
    await rpc.connect();
  });

  afterAll(async () => {
    await rpc?.close();
    await app?.close();
    await fixture?.close();
  });

  it('answers a request, and an object pattern whatever its key order', async () => {
    expect(await firstValueFrom(rpc.send('sum', [1, 2, 3]))).toBe(6);
    expect(await firstValueFrom(rpc.send({ v: 1, cmd: 'echo' }, { a: 'ü' }))).toEqual({ a: 'ü' });
  });

  it('streams every value of an Observable handler, in order, then completes', async () => {
    expect(await lastValueFrom(rpc.send('count', 50).pipe(toArray()))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(await lastValueFrom(rpc.send('count', 0).pipe(toArray()))).toEqual([]);
  });

  it('delivers an RpcException error object intact', async () => {
    await expect(firstValueFrom(rpc.send('fail', {}))).rejects.toEqual({ code: 'NOPE', reason: 'because' });
  });

  it('travels over core NATS with headers, never through a stream', async () => {
    const record = new JetStreamRecordBuilder({}).setHeaders({ tenant: 'acme', 'nest-id': 'forged' }).build();
    const got = (await firstValueFrom(rpc.send('headers', record))) as {
      headers: Record<string, string>;
      subject: string;
      pattern: string;
      stream: boolean;
      attempt: number;
    };
    expect(got.subject).toBe(`${n.prefix}.headers`);
    expect(got.pattern).toBe('headers');
    expect(got.stream).toBe(false);
    expect(got.attempt).toBe(1);
    expect(got.headers.tenant).toBe('acme');
    expect(got.headers['nest-pattern']).toBe('headers');
    expect(got.headers['nest-id']).not.toBe('forged'); // the transport's own headers win
  });

  it('fails a request to a pattern nobody serves at once, with the reason', async () => {
    const started = Date.now();
    await expect(firstValueFrom(rpc.send('nobody.home', 1))).rejects.toMatchObject({
      code: 'NO_RESPONDERS',
      message: expect.stringMatching(/no server subscribes/),
    });
    expect(Date.now() - started).toBeLessThan(scaled(2000));
  });

  it('times out with requestTimeout, and serves the next request', async () => {
    const impatient = client(url, { requestPrefix: n.prefix, requestTimeout: 300 });
    try {
      await expect(firstValueFrom(impatient.send('slow', {}))).rejects.toBeInstanceOf(RequestTimeoutError);
      expect(await firstValueFrom(impatient.send('sum', [2, 2]))).toBe(4);
    } finally {
      await impatient.close();
    }
  });

  it("refuses a message over the NATS server's max_payload before publishing, and serves on", async () => {
    const maxPayload = rpc.unwrap<{ info?: { max_payload: number } }>().info!.max_payload;
    await expect(firstValueFrom(rpc.send('sum', 'x'.repeat(maxPayload)))).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(rpc.emit('sum', 'x'.repeat(maxPayload)).toPromise()).rejects.toBeInstanceOf(PayloadTooLargeError);
    // A reply over the limit becomes an error reply instead of being lost.
    await expect(firstValueFrom(rpc.send('big', maxPayload))).rejects.toMatchObject({ message: expect.stringMatching(/over the limit/) });
    expect(await firstValueFrom(rpc.send('sum', [1]))).toBe(1);
  });

  it('drops a late reply after unsubscribing, leaving nothing pending', async () => {
    const done = deferred<void>();
    const subscription = rpc.send('slow', {}).subscribe({ complete: () => done.resolve() });
    await slowStarted.promise;
    subscription.unsubscribe();
    expect((rpc as unknown as { pending: { size: number } }).pending.size).toBe(0);
    expect(await firstValueFrom(rpc.send('sum', [5]))).toBe(5);
    expect(server.status).toBeDefined();
  });
});

suite(`JetStream request intake under a flood ${backend.reason ?? ''}`, () => {
  const url = backend.url!;
  const n = names('flood');
  let release = deferred();

  @Controller()
  class Blocked {
    @MessagePattern('hold')
    async hold(@Payload() data: { i: number }) {
      await release.promise;
      return data.i;
    }
  }

  it('answers requests past 64 MiB held at once with an overload error, and serves the rest', async () => {
    const { app } = await startApp(url, [Blocked], { requestPrefix: n.prefix, maxConcurrency: 1 });
    const flood = client(url, { requestPrefix: n.prefix });
    try {
      release = deferred();
      const filler = 'x'.repeat(1000 * 1000);
      const results: Array<Promise<{ value: unknown } | { error: any }>> = [];
      for (let i = 0; i < 80; i++) {
        results.push(
          firstValueFrom(flood.send('hold', { i, filler })).then(
            (value) => ({ value }),
            (error) => ({ error }),
          ),
        );
        // One turn of the event loop per megabyte sent: the server, in this same process, reads as
        // the flood arrives. Encoding all 80 MB in one turn starves its socket on a loaded machine
        // until nats-server drops it as a slow consumer (WriteDeadline 10 s), and the rest meet
        // "no responders" instead of the overload answer under test.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const refused = await Promise.race(results.map((r) => r.then((x) => ('error' in x ? x : new Promise<never>(() => undefined)))));
      expect(refused.error).toEqual({ status: 'error', message: 'The server is overloaded; try again later.' });
      release.resolve();
      const all = await Promise.all(results);
      const answered = all.filter((r) => 'value' in r);
      expect(answered.length).toBeGreaterThanOrEqual(60);
      expect(answered.length).toBeLessThan(80);
      expect(all.filter((r) => 'error' in r).every((r) => (r as { error: { message: string } }).error.message.includes('overloaded'))).toBe(true);
      expect(await firstValueFrom(flood.send('hold', { i: -1 }))).toBe(-1);
    } finally {
      release.resolve();
      await flood.close();
      await app.close();
    }
  });
});
