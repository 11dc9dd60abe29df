import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { PubSubServerOptions } from '../src/index.js';
import { client, Collector, emulator, Fixture, startApp, stopEmulator } from './helpers.js';

/** Which server handled each job. */
const handled = new Collector<{ server: string; n: number }>();
const HANDLER_MS = 50;
/** Longer than the subscription's ack deadline (10 s, Pub/Sub's least). */
const LONG_HANDLER_MS = 12_000;
/** Starts of the long handler. */
const longStarts = new Collector<number>();
const longDone = new Collector<number>();

/** The job handler of one server, tagged with its name. */
function jobController(server: string) {
  @Controller()
  class JobController {
    @EventPattern('job')
    async job(@Payload() n: number) {
      await new Promise((resolve) => setTimeout(resolve, HANDLER_MS));
      handled.push({ server, n });
    }

    @EventPattern('long')
    async long(@Payload() n: number) {
      longStarts.push(n);
      await new Promise((resolve) => setTimeout(resolve, LONG_HANDLER_MS));
      longDone.push(n);
    }
  }
  return JobController;
}

const backend = await emulator();
const suite = backend.url ? describe : describe.skip;

suite('PubSub intake "pull" (emulator)', () => {
  const url = backend.url!;
  let fixture: Fixture;
  const opened: INestMicroservice[] = [];

  beforeAll(() => {
    fixture = new Fixture(url);
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((app) => app.close()));
    handled.clear();
  });

  afterAll(async () => {
    await fixture?.close();
    await stopEmulator();
  });

  async function startServer(server: string, options: PubSubServerOptions) {
    const started = await startApp(url, [jobController(server)], options);
    opened.push(started.app);
    return started;
  }

  async function emitJobs(topic: string, count: number) {
    const proxy = client(url, { topic, requestResponse: false });
    try {
      await Promise.all(Array.from({ length: count }, (_, n) => lastValueFrom(proxy.emit('job', n), { defaultValue: undefined })));
    } finally {
      await proxy.close();
    }
  }

  const byServer = (server: string) => handled.items.filter((h) => h.server === server).length;
  const all = (count: number) => Array.from({ length: count }, (_, n) => n);
  const sorted = () => handled.items.map((h) => h.n).sort((x, y) => x - y);

  it('shares a burst between two servers on one subscription, each with one handler slot (a streaming pull takes it all)', async () => {
    const names = await fixture.topicWithSubscription();
    for (const server of ['a', 'b']) await startServer(server, { subscription: names.subscription, intake: 'pull', maxConcurrency: 1, waitTimeSeconds: 2 });
    await emitJobs(names.topic, 60);
    await handled.count(60, 20_000, '60 jobs handled');
    expect(sorted()).toEqual(all(60));
    // One slot and 50 ms a job each: while one server is busy the other takes the next job.
    expect(byServer('a')).toBeGreaterThanOrEqual(15);
    expect(byServer('b')).toBeGreaterThanOrEqual(15);
  }, 30_000);

  it('hands back at once what a pull under way at close gets, so another server handles it long before its ack deadline', async () => {
    const names = await fixture.topicWithSubscription({ ackDeadlineSeconds: 60 });
    const { app: closing } = await startServer('closing', { subscription: names.subscription, intake: 'pull', waitTimeSeconds: 5 });
    const closed = closing.close();
    // Published while the closing server's last pull waits: Pub/Sub hands the jobs to that pull.
    await emitJobs(names.topic, 20);
    await closed;
    await startServer('next', { subscription: names.subscription, intake: 'pull', waitTimeSeconds: 2 });
    await handled.count(20, 15_000, 'the 20 jobs handled by the next server');
    expect(sorted()).toEqual(all(20));
    expect(byServer('closing')).toBe(0);
  }, 30_000);

  it('keeps a message whose handler outlasts the ack deadline from being redelivered (its deadline is pushed back)', async () => {
    const names = await fixture.topicWithSubscription({ ackDeadlineSeconds: 10 });
    await startServer('a', { subscription: names.subscription, intake: 'pull', waitTimeSeconds: 2 });
    const proxy = client(url, { topic: names.topic, requestResponse: false });
    try {
      await lastValueFrom(proxy.emit('long', 1), { defaultValue: undefined });
      await longDone.count(1, 20_000, 'the long handler to finish');
      // A redelivery after the deadline would have started the handler again meanwhile (at 10 s).
      expect(longStarts.items).toEqual([1]);
    } finally {
      await proxy.close();
    }
  }, 30_000);
});
