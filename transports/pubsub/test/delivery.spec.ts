import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { uniqueName } from '@nest-transports/shared';
import { type PubSubClient, PubSubContext, PubSubRecord, type PubSubServerOptions } from '../src/index.js';
import { client, Collector, emulator, Fixture, startApp, stopEmulator } from './helpers.js';

const flaky = new Collector<{ id: number; attempt: number }>();
const doomed = new Collector<number>();
const external = new Collector<{ data: unknown; pattern: string }>();
const ordered = new Collector<{ key: string; n: number }>();
const manual = new Collector<number>();
const exactlyOnce = new Collector<number>();
const failedOnce = new Set<number>();

@Controller()
class DeliveryController {
  @EventPattern('flaky')
  flaky(@Payload() data: { id: number }) {
    const attempt = failedOnce.has(data.id) ? 2 : 1;
    flaky.push({ id: data.id, attempt });
    if (attempt === 1) {
      failedOnce.add(data.id);
      throw new Error('first attempt fails');
    }
  }

  @EventPattern<string>('dl.doomed')
  async doomed(@Payload() _data: unknown, @Ctx() ctx: PubSubContext) {
    doomed.push(ctx.getDeliveryAttempt());
    throw new Error('always fails');
  }

  @EventPattern<string>('external.a')
  externalA(@Payload() data: unknown, @Ctx() ctx: PubSubContext) {
    external.push({ data, pattern: ctx.getPattern() });
  }

  @EventPattern('eod')
  eod(@Payload() n: number) {
    exactlyOnce.push(n);
  }

  @EventPattern<string>('ordered')
  async ordered(@Payload() n: number, @Ctx() ctx: PubSubContext) {
    // Later messages finish sooner: only per-key serial handling keeps the order.
    await new Promise((resolve) => setTimeout(resolve, (20 - (n % 20)) % 7));
    ordered.push({ key: ctx.getOrderingKey()!, n });
  }
}

const limited = new Collector<number>();
let running = 0;
let mostRunning = 0;

@Controller()
class LimitedController {
  @EventPattern('limited')
  async limited(@Payload() n: number) {
    mostRunning = Math.max(mostRunning, ++running);
    await new Promise((resolve) => setTimeout(resolve, 30));
    running--;
    limited.push(n);
  }
}

@Controller()
class ManualController {
  @EventPattern<string>('manual')
  async manual(@Payload() n: number, @Ctx() ctx: PubSubContext) {
    const attempt = manual.items.filter((x) => x === n).length;
    manual.push(n);
    if (attempt === 0) await ctx.nack();
    else await ctx.ack();
  }
}

const backend = await emulator();
const suite = backend.url ? describe : describe.skip;

// Both intakes settle the same way: the library's streaming pull, and unary pulls of as many messages as there are free slots.
afterAll(() => stopEmulator());

const INTAKES: Array<Pick<PubSubServerOptions, 'intake' | 'waitTimeSeconds'>> = [{}, { intake: 'pull', waitTimeSeconds: 2 }];

suite.each(INTAKES)('PubSub delivery: ack/nack, dead letters, ordering, foreign messages (emulator, intake %o)', (intake) => {
  const url = backend.url!;
  let fixture: Fixture;
  let app: INestMicroservice;
  let manualApp: INestMicroservice;
  let proxy: PubSubClient;
  const names = {
    plain: { topic: '', subscription: '' },
    dl: { topic: '', subscription: '' },
    ordered: { topic: '', subscription: '' },
    eod: { topic: '', subscription: '' },
  };
  let deadLetters: string;

  beforeAll(async () => {
    for (const collector of [flaky, doomed, external, ordered, manual, exactlyOnce, limited]) collector.clear();
    failedOnce.clear();
    mostRunning = 0;
    fixture = new Fixture(url);
    const dlTopic = uniqueName('dead');
    deadLetters = uniqueName('dead-sub');
    await fixture.pubsub.createTopic(dlTopic);
    await fixture.pubsub.createSubscription(dlTopic, deadLetters);
    names.plain = await fixture.topicWithSubscription();
    names.dl = await fixture.topicWithSubscription({
      deadLetterPolicy: { deadLetterTopic: `projects/nest-transports-test/topics/${dlTopic}`, maxDeliveryAttempts: 5 },
    });
    names.ordered = await fixture.topicWithSubscription({ enableMessageOrdering: true });
    names.eod = await fixture.topicWithSubscription({ enableExactlyOnceDelivery: true });
    ({ app } = await startApp(url, [DeliveryController], {
      ...intake,
      subscriptions: [
        { name: names.plain.subscription, defaultPattern: 'external.a' },
        names.dl.subscription,
        names.ordered.subscription,
        names.eod.subscription,
      ],
    }));
    // Pattern → topic routing: the client picks the topic from the pattern.
    proxy = client(url, {
      requestResponse: false,
      topic: (route) => ({ 'dl.doomed': names.dl.topic, ordered: names.ordered.topic, eod: names.eod.topic })[route] ?? names.plain.topic,
    });
  });

  afterAll(async () => {
    await proxy?.close();
    await app?.close();
    await manualApp?.close();
    await fixture?.close();
  });

  const emit = (pattern: string, data: unknown) => lastValueFrom(proxy.emit(pattern, data), { defaultValue: undefined });

  it('nacks an event whose handler failed, so it comes back, and acks it once handled', async () => {
    await emit('flaky', { id: 1 });
    const got = await flaky.count(2);
    expect(got).toEqual([
      { id: 1, attempt: 1 },
      { id: 1, attempt: 2 },
    ]);
  });

  it('lets the dead-letter policy take a message that always fails, with deliveryAttempt in the context', async () => {
    await emit('dl.doomed', { n: 1 });
    const dead = await fixture.receiveOne(deadLetters, 15_000);
    expect(JSON.parse(dead.data.toString())).toMatchObject({ pattern: 'dl.doomed', data: { n: 1 } });
    expect(dead.attributes['nest-pattern']).toBe('dl.doomed');
    expect(doomed.items).toEqual([1, 2, 3, 4, 5]);
  });

  it('nacks a malformed Nest message to its dead-letter path without stalling the subscriber', async () => {
    doomed.clear();
    await fixture.publishRaw(names.dl.topic, '{"pattern": "dl.doomed", broken', { 'nest-pattern': 'dl.doomed' });
    await emit('dl.doomed', { n: 2 }); // still handled while the malformed one circulates
    await doomed.count(1);
    const dead = await fixture.receive(deadLetters, 2, 15_000);
    const bodies = dead.map((m) => m.data.toString());
    expect(bodies.some((b) => b.includes('broken'))).toBe(true);
  });

  it('routes messages from non-Nest publishers to the default pattern of their subscription', async () => {
    await fixture.publishRaw(names.plain.topic, JSON.stringify({ orderId: 7 }));
    await fixture.publishRaw(names.plain.topic, Buffer.from([0xff, 0x00, 0x01]));
    const got = await external.count(2);
    const json = got.find((g) => !Buffer.isBuffer(g.data));
    const binary = got.find((g) => Buffer.isBuffer(g.data));
    expect(json).toEqual({ data: { orderId: 7 }, pattern: 'external.a' });
    expect([...(binary!.data as Buffer)]).toEqual([0xff, 0x00, 0x01]);
  });

  it('handles the events of one ordering key in publish order, keys in parallel', async () => {
    const sends: Promise<unknown>[] = [];
    for (let n = 0; n < 20; n++) {
      sends.push(emit('ordered', new PubSubRecord(n, { orderingKey: n % 2 ? 'odd' : 'even' })));
    }
    await Promise.all(sends);
    const got = await ordered.count(20);
    const byKey = (key: string) => got.filter((g) => g.key === key).map((g) => g.n);
    expect(byKey('even')).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(byKey('odd')).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
  });

  it('works on exactly-once delivery subscriptions (acks awaited)', async () => {
    await Promise.all([1, 2, 3].map((n) => emit('eod', n)));
    await expect(exactlyOnce.count(3).then((got) => [...got].sort())).resolves.toEqual([1, 2, 3]);
  });

  it('lets handlers ack and nack themselves with manualAck', async () => {
    const names2 = await fixture.topicWithSubscription();
    ({ app: manualApp } = await startApp(url, [ManualController], { ...intake, subscription: names2.subscription, manualAck: true }));
    const sender = client(url, { topic: names2.topic, requestResponse: false });
    try {
      await lastValueFrom(sender.emit('manual', 42), { defaultValue: undefined });
      await expect(manual.count(2)).resolves.toEqual([42, 42]);
    } finally {
      await sender.close();
    }
  });

  it('runs at most maxConcurrency handlers at once, and handles every message', async () => {
    const names3 = await fixture.topicWithSubscription();
    const { app: limitedApp } = await startApp(url, [LimitedController], { ...intake, subscription: names3.subscription, maxConcurrency: 3 });
    const sender = client(url, { topic: names3.topic, requestResponse: false });
    try {
      await Promise.all(Array.from({ length: 24 }, (_, n) => lastValueFrom(sender.emit('limited', n), { defaultValue: undefined })));
      const got = await limited.count(24, 15_000);
      expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, n) => n));
      expect(mostRunning).toBeGreaterThan(1);
      expect(mostRunning).toBeLessThanOrEqual(3);
    } finally {
      await sender.close();
      await limitedApp.close();
    }
  });

  it('leaves nothing unacked once handled: a fresh reader of the subscriptions gets nothing', async () => {
    await app.close();
    const leftovers = await Promise.all(
      [names.plain.subscription, names.ordered.subscription, names.eod.subscription].map((s) =>
        fixture.receiveOne(s, 1500).then(
          (m) => m.data.toString(),
          () => null,
        ),
      ),
    );
    expect(leftovers).toEqual([null, null, null]);
  });
});
