import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { from } from 'rxjs';
import { type BrokeredServerSettings, deferred, NO_MESSAGE_HANDLER } from '../src/index.js';
import { event, type MemoryContext, MemoryServer, request } from './memory-transport.js';

let gate = deferred();
let running = 0;
let mostRunning = 0;
const order: string[] = [];

@Controller()
class TestController {
  @EventPattern('ok')
  ok(@Payload() _data: unknown) {}

  @EventPattern('fails')
  fails(@Payload() _data: unknown) {
    throw new Error('handler failed');
  }

  @EventPattern('step')
  async step(@Payload() data: { name: string; fail?: boolean; ms?: number }) {
    mostRunning = Math.max(mostRunning, ++running);
    await new Promise((resolve) => setTimeout(resolve, data.ms ?? 5));
    running--;
    order.push(data.name);
    if (data.fail) throw new Error(`${data.name} failed`);
  }

  @EventPattern('gated')
  async gated(@Payload() name: string) {
    order.push(`start ${name}`);
    await gate.promise;
    order.push(`end ${name}`);
  }

  @EventPattern<string>('manual')
  async manual(@Payload() how: 'ack' | 'nack' | 'nothing', @Ctx() ctx: MemoryContext) {
    if (how === 'ack') await ctx.getSettlement()!.ack();
    if (how === 'nack') await ctx.getSettlement()!.nack(7);
  }

  @MessagePattern('sum')
  sum(@Payload() numbers: number[]) {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('sum-later')
  async sumLater(@Payload() numbers: number[]) {
    await new Promise((resolve) => setImmediate(resolve));
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('count')
  count(@Payload() n: number) {
    return from(Array.from({ length: n }, (_, i) => i));
  }

  @MessagePattern('big')
  big(@Payload() size: number) {
    return 'x'.repeat(size);
  }

  @MessagePattern('rpc-fail')
  rpcFail(@Payload() _data: unknown) {
    throw new RpcException({ code: 'E_BAD' });
  }
}

@Module({ controllers: [TestController] })
class TestModule {}

describe('BrokeredServer (an in-memory transport on it)', () => {
  let app: INestMicroservice | undefined;

  async function start(settings: Partial<BrokeredServerSettings> = {}) {
    const server = new MemoryServer(settings);
    app = await NestFactory.createMicroservice(TestModule, { strategy: server, logger: false });
    await app.listen();
    return server;
  }

  afterEach(async () => {
    gate.resolve();
    await app?.close();
    app = undefined;
    gate = deferred();
    order.length = running = mostRunning = 0;
  });

  it('acks handled events and events without a handler, retries failed ones with the retry delay of their attempt', async () => {
    const server = await start({ retryDelaySeconds: (attempt) => attempt * 10 });
    server.deliver(event('1', 'ok', null));
    server.deliver(event('2', 'nobody.listens', null));
    server.deliver(event('3', 'fails', null, { attempt: 3 }));
    const settled = await server.settledCount(3);
    expect(settled).toEqual(
      expect.arrayContaining([
        { id: '1', how: 'ack' },
        { id: '2', how: 'ack' },
        { id: '3', how: 'retry', delaySeconds: 30 },
      ]),
    );
  });

  it('answers requests with numbered replies (a string or a numeric id), errors included, and acks them', async () => {
    const server = await start();
    server.deliver(request('1', 'sum', [1, 2]));
    server.deliver(request('2', 'count', 3));
    server.deliver(request('3', 'rpc-fail', null));
    server.deliver(request('4', 'missing', null));
    server.deliver(request('5', 'sum', [4], 42));
    server.deliver(request('6', 'sum-later', [5]));
    await server.settledCount(6);
    expect(server.settled.every((s) => s.how === 'ack')).toBe(true);
    const of = (id: string | number) => server.replies.filter((r) => r.id === String(id)).map(({ seq, final, decoded }) => ({ seq, final, decoded }));
    expect(of('r-1')).toEqual([{ seq: 0, final: true, decoded: { id: 'r-1', response: 3, isDisposed: true } }]);
    expect(of('r-2').map((r) => [r.seq, r.final, (r.decoded as { response?: number }).response])).toEqual([
      [0, false, 0],
      [1, false, 1],
      [2, true, 2],
    ]);
    expect(of('r-3')).toEqual([{ seq: 0, final: true, decoded: { id: 'r-3', err: { code: 'E_BAD' }, isDisposed: true } }]);
    expect(of('r-4')[0].decoded).toEqual({ id: 'r-4', status: 'error', err: NO_MESSAGE_HANDLER, isDisposed: true });
    expect(of(42)[0].decoded).toEqual({ id: 42, response: 4, isDisposed: true });
    // A Promise's value and the completion go out as one reply.
    expect(of('r-6')).toEqual([{ seq: 0, final: true, decoded: { id: 'r-6', response: 5, isDisposed: true } }]);
  });

  it('replaces a reply over maxReplyBytes with an error reply', async () => {
    const server = await start({ maxReplyBytes: 1000 });
    server.deliver(request('1', 'big', 5000));
    await server.settledCount(1);
    expect(server.replies[0].decoded).toEqual({
      id: 'r-1',
      err: { status: 'error', message: expect.stringMatching(/over the limit of 1000 bytes/) },
      isDisposed: true,
    });
  });

  it('never runs a handler again because its reply could not be delivered', async () => {
    const server = await start();
    server.failReplies = true;
    const errors: unknown[] = [];
    server.on('error', (err: unknown) => errors.push(err));
    server.deliver(request('1', 'sum', [1]));
    expect(await server.settledCount(1)).toEqual([{ id: '1', how: 'ack' }]);
    expect(errors).toHaveLength(1);
  });

  it('runs at most maxConcurrency handlers at once', async () => {
    const server = await start({ maxConcurrency: 3 });
    for (let i = 0; i < 12; i++) server.deliver(event(String(i), 'step', { name: `m${i}`, ms: 10 }));
    await server.settledCount(12);
    expect(mostRunning).toBe(3);
  });

  it('handles the messages of one key in order, and hands back those queued behind a failure', async () => {
    const server = await start();
    server.deliver(event('a1', 'step', { name: 'a1', ms: 20 }, { key: 'a' }));
    server.deliver(event('a2', 'step', { name: 'a2', fail: true }, { key: 'a' }));
    server.deliver(event('a3', 'step', { name: 'a3' }, { key: 'a' }));
    server.deliver(event('a4', 'step', { name: 'a4' }, { key: 'a' }));
    server.deliver(event('b1', 'step', { name: 'b1' }, { key: 'b' }));
    await server.settledCount(5);
    expect(order).toEqual(['b1', 'a1', 'a2']);
    expect(server.settled.filter((s) => s.id.startsWith('a'))).toEqual([
      { id: 'a1', how: 'ack' },
      { id: 'a2', how: 'retry', delaySeconds: undefined },
      { id: 'a3', how: 'release', reason: 'order' },
      { id: 'a4', how: 'release', reason: 'order' },
    ]);
    // A redelivery (after the failure) runs normally.
    server.deliver(event('a2', 'step', { name: 'a2 again' }, { key: 'a' }));
    await server.settledCount(6);
    expect(server.settled[5]).toEqual({ id: 'a2', how: 'ack' });
  });

  it('on close: hands back what has not started at once, lets running handlers finish, then says disconnected', async () => {
    const server = await start({ maxConcurrency: 1 });
    const statuses: string[] = [];
    server.status.subscribe((s) => statuses.push(s));
    server.deliver(event('1', 'gated', 'one'));
    server.deliver(event('2', 'gated', 'two')); // waits for a slot
    server.deliver(event('3', 'gated', 'three', { key: 'k' }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closing = app!.close();
    const released = await server.settledCount(2);
    expect(released).toEqual(
      expect.arrayContaining([
        { id: '2', how: 'release', reason: 'closing' },
        { id: '3', how: 'release', reason: 'closing' },
      ]),
    );
    server.deliver(event('4', 'ok', null)); // arrives while closing
    gate.resolve();
    await closing;
    app = undefined;
    expect(server.settled).toContainEqual({ id: '1', how: 'ack' });
    expect(server.settled).toContainEqual({ id: '4', how: 'release', reason: 'closing' });
    expect(order).toEqual(['start one', 'end one']);
    expect(statuses).toEqual(['connected', 'disconnected']);
  });

  it('bounds close() by closeTimeout, leaving a handler that never ends unsettled', async () => {
    const server = await start({ closeTimeout: 100 });
    server.deliver(event('1', 'gated', 'stuck'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const t0 = Date.now();
    await app!.close();
    app = undefined;
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(server.settled).toEqual([]);
  });

  it('retries, discards or dead-letters a malformed message per onMalformed, and dead-letters after maxDeliveries', async () => {
    const retain = await start({ retryDelaySeconds: 5 });
    retain.deliver({ id: 'm', body: '{oops', attributes: { 'nest-pattern': 'ok' } });
    expect(await retain.settledCount(1)).toEqual([{ id: 'm', how: 'retry', delaySeconds: 5 }]);
    await app!.close();

    const discard = await start({ onMalformed: 'discard' });
    discard.deliver({ id: 'm', body: '{oops', attributes: { 'nest-pattern': 'ok' } });
    expect(await discard.settledCount(1)).toEqual([{ id: 'm', how: 'ack' }]);
    await app!.close();

    const dlq = await start({ maxDeliveries: 3 });
    dlq.deliver({ id: 'm', body: '{oops', attributes: { 'nest-pattern': 'ok' } });
    dlq.deliver(event('f2', 'fails', null, { attempt: 2 }));
    dlq.deliver(event('f3', 'fails', null, { attempt: 3 }));
    await dlq.settledCount(3);
    expect(dlq.settled).toEqual(
      expect.arrayContaining([
        { id: 'm', how: 'dead-letter' },
        { id: 'f2', how: 'retry', delaySeconds: undefined },
        { id: 'f3', how: 'dead-letter' },
      ]),
    );
  });

  it('retries instead of dead-lettering when the instance has no dead-letter destination (deadLetters: false)', async () => {
    const server = await start({ maxDeliveries: 3, deadLetters: false, retryDelaySeconds: 2 });
    server.deliver({ id: 'm', body: '{oops', attributes: { 'nest-pattern': 'ok' } });
    server.deliver(event('f3', 'fails', null, { attempt: 3 }));
    await server.settledCount(2);
    expect(server.settled).toEqual(
      expect.arrayContaining([
        { id: 'm', how: 'retry', delaySeconds: 2 },
        { id: 'f3', how: 'retry', delaySeconds: 2 },
      ]),
    );
  });

  it('routes a message that is no Nest packet to the default pattern, and calls it malformed without one', async () => {
    const server = await start();
    server.deliver({ id: 'json', body: '{"orderId":7}', defaultPattern: 'ok' });
    server.deliver({ id: 'text', body: 'hello', defaultPattern: 'ok' });
    server.deliver({ id: 'none', body: '{"orderId":7}' });
    server.deliver({ id: 'nest', body: '{broken', attributes: { 'nest-pattern': 'ok' }, defaultPattern: 'ok' });
    await server.settledCount(4);
    expect(server.settled).toEqual(
      expect.arrayContaining([
        { id: 'json', how: 'ack' },
        { id: 'text', how: 'ack' },
        { id: 'none', how: 'retry', delaySeconds: undefined },
        { id: 'nest', how: 'retry', delaySeconds: undefined },
      ]),
    );
  });

  it('settles what the intake refuses as malformed: retried, discarded or dead-lettered, never handled', async () => {
    const retain = await start({ retryDelaySeconds: 3 });
    retain.refuseNow(event('r', 'ok', null), new Error('over the limit'));
    expect(await retain.settledCount(1)).toEqual([{ id: 'r', how: 'retry', delaySeconds: 3 }]);
    await app!.close();

    const discard = await start({ onMalformed: 'discard' });
    discard.refuseNow(event('r', 'ok', null), new Error('over the limit'));
    expect(await discard.settledCount(1)).toEqual([{ id: 'r', how: 'ack' }]);
    await app!.close();

    const dlq = await start({ maxDeliveries: 3 });
    dlq.refuseNow(event('r', 'ok', null), new Error('over the limit'));
    expect(await dlq.settledCount(1)).toEqual([{ id: 'r', how: 'dead-letter' }]);
  });

  it('with manualAck, settles only what the handler could not', async () => {
    const server = await start({ manualAck: true, retryDelaySeconds: 1 });
    server.deliver(event('a', 'manual', 'ack'));
    server.deliver(event('n', 'manual', 'nack'));
    server.deliver(event('x', 'manual', 'nothing'));
    server.deliver(event('f', 'fails', null));
    await server.settledCount(3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.settled).toEqual(
      expect.arrayContaining([
        { id: 'a', how: 'ack' },
        { id: 'n', how: 'retry', delaySeconds: 7 },
        { id: 'f', how: 'retry', delaySeconds: 1 },
      ]),
    );
    expect(server.settled.find((s) => s.id === 'x')).toBeUndefined();
  });

  it('gives hosts that settle themselves the outcome (a Lambda batch, a push endpoint)', async () => {
    const server = await start();
    await expect(server.processNow(event('1', 'ok', null))).resolves.toEqual({ action: 'ack', reason: 'handled' });
    await expect(server.processNow(event('2', 'fails', null))).resolves.toMatchObject({ action: 'retry', reason: 'failed' });
    await expect(server.processNow({ id: '3', body: '{', attributes: { 'nest-id': 'x' } })).resolves.toMatchObject({ action: 'retry', reason: 'malformed' });
    expect(server.settled).toEqual([]);
  });
});
