import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { type RedisStreamsClient, RedisStreamsContext, RedisStreamsRecordBuilder } from '../src/index.js';
import { client, Fixture, names, redisBackend, Seen, startApp } from './helpers.js';

const n = names('ev');
const both = { first: new Seen<number>(), second: new Seen<number>() };
const doomed = new Seen<{ at: number; attempt: number }>();
const foreign = new Seen<{ data: unknown; pattern: string }>();
const stored = new Seen<number>();
const manual = new Seen<{ id: number; attempt: number }>();
const failedOnce = new Set<number>();

@Controller()
class Events {
  // Two handlers of one pattern: the entry is acknowledged only when both succeeded.
  @EventPattern<string>('both')
  first(@Payload() id: number) {
    both.first.add(id);
  }

  @EventPattern<string>('both')
  second(@Payload() id: number) {
    both.second.add(id);
    if (!failedOnce.has(id)) {
      failedOnce.add(id);
      throw new Error('the second handler fails once');
    }
  }

  @EventPattern<string>('doomed')
  doomed(@Ctx() ctx: RedisStreamsContext) {
    doomed.add({ at: Date.now(), attempt: ctx.getDeliveryAttempt() });
    throw new RpcException('always fails: the reason');
  }

  @EventPattern<string>('stored')
  stored(@Payload() i: number) {
    stored.add(i);
  }

  // Entries another producer added without the transport's fields: routed by defaultPattern.
  @EventPattern<string>('orders.created')
  foreign(@Payload() data: unknown, @Ctx() ctx: RedisStreamsContext) {
    foreign.add({ data, pattern: ctx.getPattern() });
  }
}

@Controller()
class Settling {
  @EventPattern<string>('manual')
  async manual(@Payload() id: number, @Ctx() ctx: RedisStreamsContext) {
    manual.add({ id, attempt: ctx.getDeliveryAttempt() });
    if (ctx.getDeliveryAttempt() === 1) await ctx.nack(0);
    else await ctx.ack();
  }
}

const backend = await redisBackend();
const suite = backend.url ? describe : describe.skip;

suite(`Redis Streams events ${backend.reason ?? ''}`, () => {
  const url = backend.url!;
  let fixture: Fixture;
  let app: INestMicroservice;
  let events: RedisStreamsClient;
  const serverOptions = { stream: n.stream, group: 'svc', maxDeliveries: 3, defaultPattern: 'orders.created', replyPrefix: n.replyPrefix };

  beforeAll(async () => {
    fixture = await Fixture.open(url, n.stream);
    // Events added before any server ran wait in the stream; the group the server creates starts at "0".
    events = client(url, { stream: n.stream, replyPrefix: n.replyPrefix });
    for (let i = 0; i < 20; i++) await lastValueFrom(events.emit('stored', i), { defaultValue: undefined });
    ({ app } = await startApp(url, [Events], serverOptions));
  });

  afterAll(async () => {
    await events?.close();
    await app?.close();
    await fixture?.close();
  });

  it('handles the events stored while no server ran, once it starts, and acknowledges them', async () => {
    expect([...(await stored.wait(20))].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await fixture.settled(n.stream, 'svc')).toBe(0);
  });

  it('acknowledges only after every handler of the pattern succeeded: a failure brings the entry back to all of them', async () => {
    await lastValueFrom(events.emit('both', 7), { defaultValue: undefined });
    await both.second.wait(2);
    await both.first.wait(2, 5000, 'the first handler runs again on the redelivery');
    expect(both.first.items).toEqual([7, 7]);
    expect(await fixture.settled(n.stream, 'svc')).toBe(0);
  });

  it('hands a failed entry out again after a growing delay, then dead-letters it with its fields and the reason', async () => {
    const record = new RedisStreamsRecordBuilder({ order: 1 }).setFields({ tenant: 'acme' }).build();
    await lastValueFrom(events.emit('doomed', record), { defaultValue: undefined });
    const attempts = await doomed.wait(3, 15_000);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    const [gap1, gap2] = [attempts[1].at - attempts[0].at, attempts[2].at - attempts[1].at];
    expect(gap1).toBeGreaterThanOrEqual(900); // 1 s, then 2 s (the default retryDelaySeconds)
    expect(gap2).toBeGreaterThanOrEqual(1900);
    const [dead] = await fixture.waitEntries(n.deadLetter, 1);
    expect(JSON.parse(dead.fields.body)).toMatchObject({ pattern: 'doomed', data: { order: 1 } });
    expect(dead.fields).toMatchObject({
      tenant: 'acme',
      'nest-pattern': 'doomed',
      'nest-dead-letter-reason': 'always fails: the reason',
      'nest-dead-letter-deliveries': '3',
      'nest-dead-letter-stream': n.stream,
      'nest-dead-letter-group': 'svc',
    });
    const original = (await fixture.entries(n.stream)).find((e) => e.id === dead.fields['nest-dead-letter-id']);
    expect(original?.fields['nest-pattern']).toBe('doomed');
    expect(await fixture.settled(n.stream, 'svc')).toBe(0);
  });

  it('routes an entry from another producer (a body without transport fields) by defaultPattern', async () => {
    await fixture.redis.xadd(n.stream, '*', 'body', JSON.stringify({ id: 'o-1' }));
    const [got] = await foreign.wait(1);
    expect(got).toEqual({ data: { id: 'o-1' }, pattern: 'orders.created' });
  });

  it('sends bad entries (no body, a body that does not decode) to the dead-letter stream at once, and serves on', async () => {
    await fixture.redis.xadd(n.stream, '*', 'origin', 'no-body');
    await fixture.redis.xadd(n.stream, '*', 'nest-pattern', 'stored', 'origin', 'hostile', 'body', '{"pattern": not json');
    const dead = await fixture.waitEntries(n.deadLetter, 3);
    const noBody = dead.find((e) => e.fields.origin === 'no-body')!;
    expect(noBody.fields['nest-dead-letter-reason']).toMatch(/no "body" field/);
    const malformed = dead.find((e) => e.fields.origin === 'hostile')!;
    expect(malformed.fields.body).toBe('{"pattern": not json');
    expect(malformed.fields['nest-dead-letter-reason']).toMatch(/Malformed packet/);
    expect(malformed.fields['nest-dead-letter-deliveries']).toBe('1');
    await lastValueFrom(events.emit('stored', 99), { defaultValue: undefined });
    await stored.wait(21);
    expect(await fixture.settled(n.stream, 'svc')).toBe(0);
  });

  it('lets a handler settle its entry itself with manualAck', async () => {
    const { app: manualApp } = await startApp(url, [Settling], { ...serverOptions, group: 'manual', manualAck: true, startId: '$' });
    try {
      await lastValueFrom(events.emit('manual', 1), { defaultValue: undefined });
      expect(await manual.wait(2)).toEqual([
        { id: 1, attempt: 1 },
        { id: 1, attempt: 2 },
      ]);
      expect(await fixture.settled(n.stream, 'manual')).toBe(0);
    } finally {
      await manualApp.close();
    }
  });

  it('trims the stream on XADD by count (MAXLEN ~) or by age (MINID ~)', async () => {
    const byCount = client(url, { stream: `${n.stream}:maxlen`, maxLen: 100 });
    const byAge = client(url, { stream: `${n.stream}:minid`, minIdAge: 60_000 });
    try {
      for (let i = 0; i < 1000; i++) void byCount.emit('x', i);
      await lastValueFrom(byCount.emit('x', 'last'), { defaultValue: undefined });
      const kept = Number(await fixture.redis.xlen(`${n.stream}:maxlen`));
      expect(kept).toBeGreaterThanOrEqual(100);
      expect(kept).toBeLessThan(1001);
      // Entries older than a minute (an id in the past) go on the next add.
      await fixture.redis.xadd(`${n.stream}:minid`, `${Date.now() - 3_600_000}-0`, 'body', '"old"');
      for (let i = 0; i < 200; i++) await fixture.redis.xadd(`${n.stream}:minid`, `${Date.now() - 3_600_000 + 1}-${i}`, 'body', '"old"');
      await lastValueFrom(byAge.emit('x', 'new'), { defaultValue: undefined });
      const left = await fixture.entries(`${n.stream}:minid`);
      expect(left.length).toBeLessThan(202);
      expect(left.at(-1)!.fields.body).toContain('new');
    } finally {
      await byCount.close();
      await byAge.close();
    }
  });
});
