import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { firstValueFrom, from, lastValueFrom, toArray } from 'rxjs';
import { NO_MESSAGE_HANDLER, PayloadTooLargeError } from '@nest-transports/shared';
import { PubSubClient, PubSubContext, PubSubRecordBuilder, PubSubServer } from '../src/index.js';
import { client, Collector, emulator, Fixture, startApp, stopEmulator } from './helpers.js';

const events = new Collector<{ handler: string; data: unknown }>();

@Controller()
class MathController {
  @MessagePattern('sum')
  sum(@Payload() data: number[]) {
    return data.reduce((a, b) => a + b, 0);
  }

  @MessagePattern({ cmd: 'sum', v: 2 })
  sumObject(@Payload() data: number[]) {
    return data.reduce((a, b) => a + b, 0) * 2;
  }

  @MessagePattern('async')
  async later(@Payload() data: string) {
    await Promise.resolve();
    return `${data}!`;
  }

  @MessagePattern('stream')
  stream(@Payload() n: number) {
    return from(Array.from({ length: n }, (_, i) => i));
  }

  @MessagePattern('stream.empty')
  empty() {
    return from([]);
  }

  @MessagePattern('fail.rpc')
  failRpc() {
    throw new RpcException({ code: 'E_BAD_INPUT', detail: 'nope' });
  }

  @MessagePattern('fail.plain')
  failPlain() {
    throw new Error('secret internals');
  }

  @MessagePattern('ctx')
  ctx(@Payload() _data: unknown, @Ctx() ctx: PubSubContext) {
    return {
      isContext: ctx instanceof PubSubContext,
      pattern: ctx.getPattern(),
      subscription: ctx.getSubscription(),
      attributes: ctx.getAttributes(),
      orderingKey: ctx.getOrderingKey() ?? null,
      deliveryAttempt: ctx.getDeliveryAttempt(),
      metadata: ctx.getMetadata() ?? null,
      messageId: ctx.getMessage().id,
    };
  }

  @EventPattern('ev')
  first(@Payload() data: unknown) {
    events.push({ handler: 'first', data });
  }

  @EventPattern('ev')
  second(@Payload() data: unknown) {
    events.push({ handler: 'second', data });
  }
}

const backend = await emulator();
const suite = backend.url ? describe : describe.skip;

suite('PubSub request-response and events (emulator)', () => {
  const url = backend.url!;
  let fixture: Fixture;
  let app: INestMicroservice;
  let server: PubSubServer;
  let topic: string;
  let subscription: string;
  let proxy: PubSubClient;

  beforeAll(async () => {
    fixture = new Fixture(url);
    ({ topic, subscription } = await fixture.topicWithSubscription());
    ({ app, server } = await startApp(url, [MathController], { subscription }));
    proxy = client(url, { topic });
    await proxy.connect();
  });

  afterAll(async () => {
    await proxy?.close();
    await app?.close();
    await fixture?.close();
    await stopEmulator();
  });

  it('answers a request', async () => {
    await expect(firstValueFrom(proxy.send('sum', [1, 2, 3]))).resolves.toBe(6);
    await expect(firstValueFrom(proxy.send('async', 'hi'))).resolves.toBe('hi!');
  });

  it('matches object patterns whatever the key order', async () => {
    await expect(firstValueFrom(proxy.send({ v: 2, cmd: 'sum' }, [1, 2]))).resolves.toBe(6);
  });

  it('answers concurrent requests each to its own caller', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => firstValueFrom(proxy.send('sum', [i, 1]))));
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('streams every value of an Observable handler in order, then completes', async () => {
    await expect(lastValueFrom(proxy.send('stream', 25).pipe(toArray()))).resolves.toEqual(Array.from({ length: 25 }, (_, i) => i));
    await expect(lastValueFrom(proxy.send('stream.empty', 0).pipe(toArray()))).resolves.toEqual([]);
  });

  it('returns Nest\'s "no matching message handler" error for an unknown pattern', async () => {
    await expect(firstValueFrom(proxy.send('nobody.home', 1))).rejects.toEqual(NO_MESSAGE_HANDLER);
  });

  it("delivers an RpcException's error object intact, and a plain error as Nest's internal error", async () => {
    await expect(firstValueFrom(proxy.send('fail.rpc', 1))).rejects.toEqual({ code: 'E_BAD_INPUT', detail: 'nope' });
    const err = await firstValueFrom(proxy.send('fail.plain', 1)).catch((e) => e);
    expect(err).toEqual({ status: 'error', message: 'Internal server error' });
    expect(JSON.stringify(err)).not.toContain('secret');
  });

  it('runs every @EventPattern handler of an emitted event', async () => {
    events.clear();
    await lastValueFrom(proxy.emit('ev', { n: 1 }), { defaultValue: undefined });
    const got = await events.count(2);
    expect(got.map((e) => e.handler).sort()).toEqual(['first', 'second']);
    expect(got.every((e) => (e.data as { n: number }).n === 1)).toBe(true);
  });

  it('gives handlers a PubSubContext with attributes and ordering key from PubSubRecord', async () => {
    const record = new PubSubRecordBuilder({ x: 1 }).setAttributes({ tenant: 'acme' }).setOrderingKey('k1').build();
    const ctx = await firstValueFrom(proxy.send('ctx', record));
    expect(ctx).toMatchObject({
      isContext: true,
      pattern: 'ctx',
      subscription: `projects/nest-transports-test/subscriptions/${subscription}`,
      orderingKey: 'k1',
      deliveryAttempt: 0,
    });
    expect(ctx.attributes).toMatchObject({ tenant: 'acme', 'nest-pattern': 'ctx' });
    expect(ctx.attributes['nest-reply-to']).toBe(proxy.replyTopic);
  });

  it('carries Nest packet metadata from the dispatch hook to the context', async () => {
    const traced = client(url, { topic });
    traced.setOnDispatchHook((packet) => Object.assign(packet, { metadata: { traceparent: '00-abc-01' } }));
    try {
      await expect(firstValueFrom(traced.send('ctx', 1))).resolves.toMatchObject({ metadata: { traceparent: '00-abc-01' } });
    } finally {
      await traced.close();
    }
  });

  it('fails a payload over 10 MB before publishing, and serves on', async () => {
    const big = 'x'.repeat(10_000_001);
    await expect(firstValueFrom(proxy.send('sum', big))).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(lastValueFrom(proxy.emit('ev', big))).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(firstValueFrom(proxy.send('sum', [2, 2]))).resolves.toBe(4);
  });

  it('carries a payload near the limit', async () => {
    const nearLimit = 'y'.repeat(9_000_000);
    await expect(firstValueFrom(proxy.send('async', nearLimit))).resolves.toHaveLength(9_000_001);
  });

  it('gives each of several client replicas its own replies', async () => {
    const replicas = [client(url, { topic }), client(url, { topic }), client(url, { topic })];
    try {
      await Promise.all(replicas.map((r) => r.connect()));
      expect(new Set(replicas.map((r) => r.replyTopic)).size).toBe(3);
      const answers = await Promise.all(replicas.flatMap((r, ri) => Array.from({ length: 5 }, (_, i) => firstValueFrom(r.send('sum', [ri * 100, i])))));
      expect(answers).toEqual(replicas.flatMap((_, ri) => Array.from({ length: 5 }, (_, i) => ri * 100 + i)));
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('reports status and exposes the native client', async () => {
    expect(server.unwrap()).toBe(server.unwrap());
    expect(typeof proxy.unwrap<{ topic: unknown }>().topic).toBe('function');
    const statuses: string[] = [];
    const sub = server.status.subscribe((s) => statuses.push(s));
    sub.unsubscribe();
    expect(statuses).toEqual(['connected']);
  });
});
