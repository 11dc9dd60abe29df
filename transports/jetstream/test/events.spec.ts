import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { type JetStreamClient, JetStreamContext, JetStreamRecordBuilder } from '../src/index.js';
import { client, Fixture, names, natsBackend, Seen, startApp } from './helpers.js';

const n = names('ev');
/** Subjects of the main server's consumer. */
const main = (s: string) => n.subject(`main.${s}`);
const both = { first: new Seen<number>(), second: new Seen<number>() };
const doomed = new Seen<{ at: number; attempt: number }>();
const foreign = new Seen<{ data: unknown; pattern: string }>();
const stored = new Seen<number>();
const manual = new Seen<{ id: number; attempt: number }>();
const backstop = new Seen<number>();
const failedOnce = new Set<number>();

@Controller()
class Events {
  // Two handlers of one pattern: the message is acknowledged only when both succeeded.
  @EventPattern<string>(main('both'))
  first(@Payload() id: number) {
    both.first.add(id);
  }

  @EventPattern<string>(main('both'))
  second(@Payload() id: number) {
    both.second.add(id);
    if (!failedOnce.has(id)) {
      failedOnce.add(id);
      throw new Error('the second handler fails once');
    }
  }

  @EventPattern<string>(main('doomed'))
  doomed(@Ctx() ctx: JetStreamContext) {
    doomed.add({ at: Date.now(), attempt: ctx.getDeliveryAttempt() });
    throw new RpcException('always fails: the reason');
  }

  @EventPattern<string>(main('stored'))
  stored(@Payload() i: number) {
    stored.add(i);
  }

  // A message another producer published without the transport's headers: routed by its subject.
  @EventPattern<string>(main('orders.created'))
  foreign(@Payload() data: unknown, @Ctx() ctx: JetStreamContext) {
    foreign.add({ data, pattern: ctx.getPattern() });
  }
}

/** Served by servers of their own consumers, filtered to their subjects. */
@Controller()
class Settling {
  @EventPattern<string>(n.subject('manual'))
  async manual(@Payload() id: number, @Ctx() ctx: JetStreamContext) {
    manual.add({ id, attempt: ctx.getDeliveryAttempt() });
    if (ctx.getDeliveryAttempt() === 1) await ctx.nack(0);
    else await ctx.ack();
  }

  @EventPattern<string>(n.subject('backstop'))
  backstop(@Ctx() ctx: JetStreamContext) {
    backstop.add(ctx.getDeliveryAttempt());
    throw new Error('fails until the consumer gives up');
  }
}

const backend = await natsBackend();
const suite = backend.url ? describe : describe.skip;

suite(`JetStream events ${backend.reason ?? ''}`, () => {
  const url = backend.url!;
  const deadLetterSubject = `dead.${n.prefix}`;
  const deadStream = `${n.stream}_DEAD_LETTER`;
  let fixture: Fixture;
  let app: INestMicroservice;
  let events: JetStreamClient;

  const serverOptions = {
    stream: n.stream,
    consumer: n.consumer,
    autoCreate: true,
    streamConfig: { subjects: [n.subjects] },
    consumerConfig: { filter_subject: n.subject('main.>') },
    maxDeliveries: 3,
    deadLetterSubject,
  };

  beforeAll(async () => {
    fixture = await Fixture.open(url);
    fixture.track(n.stream);
    fixture.track(deadStream);
    // Events emitted before any server ran are kept by the stream.
    await fixture.stream(n.stream, [n.subjects]);
    events = client(url);
    for (let i = 0; i < 20; i++) await lastValueFrom(events.emit(main('stored'), i), { defaultValue: undefined });
    ({ app } = await startApp(url, [Events], serverOptions));
  });

  afterAll(async () => {
    await events?.close();
    await app?.close();
    await fixture?.close();
  });

  it('handles the events stored while no server ran, once it starts', async () => {
    expect([...(await stored.wait(20))].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('acknowledges only after every handler of the pattern succeeded: a failure brings the message back to all of them', async () => {
    await lastValueFrom(events.emit(main('both'), 7), { defaultValue: undefined });
    await both.second.wait(2);
    await both.first.wait(2, 5000, 'the first handler runs again on the redelivery');
    expect(both.first.items).toEqual([7, 7]);
  });

  it('naks with a growing delay, then dead-letters on the last delivery with the original headers and the reason', async () => {
    const record = new JetStreamRecordBuilder({ order: 1 }).setHeaders({ tenant: 'acme' }).build();
    await lastValueFrom(events.emit(main('doomed'), record), { defaultValue: undefined });
    const attempts = await doomed.wait(3, 15_000);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    const [gap1, gap2] = [attempts[1].at - attempts[0].at, attempts[2].at - attempts[1].at];
    expect(gap1).toBeGreaterThanOrEqual(900); // 1 s, then 2 s (the default retryDelaySeconds)
    expect(gap2).toBeGreaterThanOrEqual(1900);
    const [dead] = await fixture.read(deadStream, 1);
    expect(JSON.parse(dead.string())).toMatchObject({ pattern: main('doomed'), data: { order: 1 } });
    expect(dead.headers?.get('tenant')).toBe('acme');
    expect(dead.headers?.get('nest-pattern')).toBe(main('doomed'));
    expect(dead.headers?.get('nest-dead-letter-reason')).toBe('always fails: the reason');
    expect(dead.headers?.get('nest-dead-letter-deliveries')).toBe('3');
    expect(dead.headers?.get('nest-dead-letter-subject')).toBe(main('doomed'));
    expect(dead.headers?.get('nest-dead-letter-stream')).toBe(n.stream);
  });

  it('routes a message from another producer (no transport headers) by its subject', async () => {
    await fixture.js.publish(main('orders.created'), JSON.stringify({ id: 'o-1' }));
    const [got] = await foreign.wait(1);
    expect(got).toEqual({ data: { id: 'o-1' }, pattern: main('orders.created') });
  });

  it('sends a malformed message to the dead-letter subject at once, and serves on', async () => {
    const h = natsHeaders();
    h.set('nest-pattern', main('stored'));
    h.set('origin', 'hostile');
    await fixture.js.publish(main('stored'), '{"pattern": not json', { headers: h });
    const dead = await fixture.read(deadStream, 2);
    const malformed = dead.find((m) => m.headers?.get('origin') === 'hostile')!;
    expect(malformed.string()).toBe('{"pattern": not json');
    expect(malformed.headers?.get('nest-dead-letter-reason')).toMatch(/Malformed packet/);
    await lastValueFrom(events.emit(main('stored'), 99), { defaultValue: undefined });
    await stored.wait(21);
  });

  it('lets a handler settle its message itself with manualAck', async () => {
    const { app: manualApp } = await startApp(url, [Settling], {
      ...serverOptions,
      consumer: `${n.consumer}-manual`,
      manualAck: true,
      consumerConfig: { filter_subject: n.subject('manual') },
    });
    try {
      await lastValueFrom(events.emit(n.subject('manual'), 1), { defaultValue: undefined });
      expect(await manual.wait(2)).toEqual([
        { id: 1, attempt: 1 },
        { id: 1, attempt: 2 },
      ]);
      expect(await fixture.settled(n.stream, `${n.consumer}-manual`)).toMatchObject({ unacked: 0, waiting: 0 });
    } finally {
      await manualApp.close();
    }
  });

  it("dead-letters from JetStream's advisory a message that ran out of the consumer's max_deliver first", async () => {
    // The consumer gives up after 2 deliveries, before the server's own maxDeliveries (3).
    const consumer = `${n.consumer}-backstop`;
    await fixture.consumer(n.stream, consumer, { max_deliver: 2, filter_subject: n.subject('backstop') });
    const { app: backstopApp } = await startApp(url, [Settling], { ...serverOptions, consumer, retryDelaySeconds: 0 });
    try {
      await lastValueFrom(events.emit(n.subject('backstop'), 'x'), { defaultValue: undefined });
      await backstop.wait(2);
      const dead = await fixture.read(deadStream, 3, 10_000);
      const last = dead.find((m) => m.headers?.get('nest-dead-letter-consumer') === consumer)!;
      expect(last.headers?.get('nest-dead-letter-reason')).toMatch(/delivered 2 times without being acknowledged/);
      expect(last.headers?.get('nest-dead-letter-subject')).toBe(n.subject('backstop'));
    } finally {
      await backstopApp.close();
    }
  });
});
