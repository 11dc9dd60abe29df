import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice, type Type } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { deferred } from '@nest-transports/shared';
import { type JetStreamClient, JetStreamContext, type JetStreamServerOptions } from '../src/index.js';
import { client, Fixture, names, natsBackend, Seen, startApp } from './helpers.js';

const n = names('cs');
const emitted = (c: JetStreamClient, subject: string, data: unknown) => lastValueFrom(c.emit(subject, data), { defaultValue: undefined });

const long = { started: new Seen<number>(), finished: new Seen<number>() };
@Controller()
class Long {
  @EventPattern<string>(n.subject('long'))
  async long(@Payload() i: number) {
    long.started.add(i);
    await new Promise((resolve) => setTimeout(resolve, 3500)); // 3.5 × the consumer's ack_wait
    long.finished.add(i);
  }
}

/** A controller per server, recording what that server handled (and into `all`, when given). */
function worker(seen: Seen<number>, delayMs: number, all?: Seen<number>): Type {
  @Controller()
  class Worker {
    @EventPattern<string>(n.subject('job'))
    async job(@Payload() i: number) {
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      seen.add(i);
      all?.add(i);
    }
  }
  return Worker;
}

const ordered = new Seen<{ subject: string; i: number }>();
@Controller()
class Ordered {
  @EventPattern<string>(n.subject('ordered.a'))
  a(@Payload() i: number, @Ctx() ctx: JetStreamContext) {
    return this.handle(i, ctx);
  }

  @EventPattern<string>(n.subject('ordered.b'))
  b(@Payload() i: number, @Ctx() ctx: JetStreamContext) {
    return this.handle(i, ctx);
  }

  private async handle(i: number, ctx: JetStreamContext) {
    // Later events finish sooner: only one-after-another handling per subject keeps their order.
    await new Promise((resolve) => setTimeout(resolve, (20 - (i % 20)) % 7));
    ordered.add({ subject: ctx.getSubject(), i });
  }
}

const backend = await natsBackend();
const suite = backend.url ? describe : describe.skip;

suite(`JetStream consumers ${backend.reason ?? ''}`, () => {
  const url = backend.url!;
  let fixture: Fixture;
  let events: JetStreamClient;
  const apps: INestMicroservice[] = [];
  const start = async (controllers: Type[], options: JetStreamServerOptions) => {
    const { app, server } = await startApp(url, controllers, { stream: n.stream, ...options });
    apps.push(app);
    return { app, server };
  };

  beforeAll(async () => {
    fixture = await Fixture.open(url);
    await fixture.stream(n.stream, [n.subjects]);
    events = client(url);
  });

  afterAll(async () => {
    await events?.close();
    for (const app of apps) await app.close();
    await fixture?.close();
  });

  it('keeps a long handler’s message with in-progress acks: handled once, never redelivered', async () => {
    const consumer = `${n.consumer}-long`;
    await fixture.consumer(n.stream, consumer, { ack_wait: 1e9, filter_subject: n.subject('long') });
    await start([Long], { consumer });
    await emitted(events, n.subject('long'), 1);
    await long.finished.wait(1, 10_000);
    // Redelivered after ack_wait, it would have started again while the first run was still going.
    expect(long.started.items).toEqual([1]);
    expect(await fixture.settled(n.stream, consumer)).toEqual({ unacked: 0, waiting: 0, redelivered: 0 });
  });

  it('shares one durable consumer between replicas: each event handled once, by either (competing consumers)', async () => {
    const consumer = `${n.consumer}-shared`;
    await fixture.consumer(n.stream, consumer, { filter_subject: n.subject('job') });
    const [one, two, all] = [new Seen<number>(), new Seen<number>(), new Seen<number>()];
    await start([worker(one, 20, all)], { consumer, maxConcurrency: 4 });
    await start([worker(two, 20, all)], { consumer, maxConcurrency: 4 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => emitted(events, n.subject('job'), i)));
    await all.wait(100, 15_000);
    expect([...all.items].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(one.items.length).toBeGreaterThan(0);
    expect(two.items.length).toBeGreaterThan(0);
  });

  it('gives every service its own consumer: each handles every event (fan-out)', async () => {
    const [billing, shipping] = [new Seen<number>(), new Seen<number>()];
    for (const [seen, service] of [
      [billing, 'billing'],
      [shipping, 'shipping'],
    ] as const) {
      await start([worker(seen, 0)], {
        consumer: `${n.consumer}-${service}`,
        autoCreate: true,
        consumerConfig: { filter_subject: n.subject('job'), deliver_policy: 'new' as never },
      });
    }
    for (let i = 0; i < 20; i++) await emitted(events, n.subject('job'), i);
    for (const seen of [billing, shipping]) expect([...(await seen.wait(20))].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('handles the events of one subject one after another, in stream order, with ordering: "subject"', async () => {
    const consumer = `${n.consumer}-ordered`;
    await fixture.consumer(n.stream, consumer, { filter_subject: n.subject('ordered.>') });
    await start([Ordered], { consumer, ordering: 'subject', maxConcurrency: 20 });
    await Promise.all(Array.from({ length: 60 }, (_, i) => emitted(events, n.subject(i % 2 ? 'ordered.a' : 'ordered.b'), i)));
    await ordered.wait(60);
    for (const subject of ['ordered.a', 'ordered.b']) {
      const got = ordered.items.filter((e) => e.subject === n.subject(subject)).map((e) => e.i);
      expect(got).toEqual([...got].sort((a, b) => a - b));
      expect(got).toHaveLength(30);
    }
  });

  it('hands back the messages it holds when it closes, so another replica takes them at once', async () => {
    const consumer = `${n.consumer}-handover`;
    // ack_wait far beyond the test: a message left with the closed server would not come back in time.
    await fixture.consumer(n.stream, consumer, { ack_wait: 120e9, filter_subject: n.subject('handover') });
    const first = new Seen<number>();
    const firstBusy = deferred();
    @Controller()
    class Slow {
      @EventPattern<string>(n.subject('handover'))
      async handover(@Payload() i: number) {
        firstBusy.resolve();
        await new Promise((resolve) => setTimeout(resolve, 500));
        first.add(i);
      }
    }
    // noAsyncTraces: a faster client makes the hand-back meet the pull request still open, every time.
    const { app } = await start([Slow], { consumer, maxConcurrency: 1, batchSize: 10, connectionOptions: { noAsyncTraces: true } });
    for (let i = 0; i < 10; i++) await emitted(events, n.subject('handover'), i);
    await firstBusy.promise;
    await app.close(); // the running handler finishes; the 9 waiting messages are nak'd
    const second = new Seen<number>();
    @Controller()
    class Fast {
      @EventPattern<string>(n.subject('handover'))
      handover(@Payload() i: number) {
        second.add(i);
      }
    }
    await start([Fast], { consumer });
    await second.wait(10 - first.items.length, 10_000, 'the handed-back messages');
    expect([...first.items, ...second.items].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(first.items).toHaveLength(1);
  });
});
