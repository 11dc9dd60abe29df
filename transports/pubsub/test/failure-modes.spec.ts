import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { PubSubServerOptions } from '../src/index.js';
import { client, Collector, emulator, Fixture, LogLines, startApp, stopEmulator } from './helpers.js';

const poison = new Collector<number>();

@Controller()
class FailureController {
  @EventPattern('poison')
  poison(@Payload() _data: unknown) {
    poison.push(Date.now());
    throw new Error('this message can never be handled');
  }

  @MessagePattern('double')
  double(@Payload() n: number) {
    return n * 2;
  }
}

const backend = await emulator();
const suite = backend.url ? describe : describe.skip;

afterAll(() => stopEmulator());

// Streaming pull holds a failing message before its nack; intake "pull" sets its ack deadline to the delay.
const INTAKES: Array<Pick<PubSubServerOptions, 'intake' | 'waitTimeSeconds'>> = [{}, { intake: 'pull', waitTimeSeconds: 2 }];

suite.each(INTAKES)('PubSub failure modes (emulator, intake %o)', (intake) => {
  const url = backend.url!;
  const logs = new LogLines();
  let fixture: Fixture;
  let app: INestMicroservice;
  let names: { topic: string; subscription: string };

  beforeAll(async () => {
    poison.clear();
    fixture = new Fixture(url);
    names = await fixture.topicWithSubscription(); // no dead-letter policy, no retry policy
    ({ app } = await startApp(url, [FailureController], { ...intake, subscription: names.subscription }, logs));
  });

  afterAll(async () => {
    await app?.close();
    await fixture?.close();
  });

  it('recommends a dead-letter policy at start when the subscription has none', () => {
    expect(logs.matching(new RegExp(`${names.subscription}.*has no dead-letter policy`))).toHaveLength(1);
  });

  it('backs off a message that always fails on a subscription without a dead-letter policy, and says so', async () => {
    const proxy = client(url, { topic: names.topic, requestResponse: false });
    try {
      await proxy.connect();
      await lastValueFrom(proxy.emit('poison', 1), { defaultValue: undefined });
      // Redelivered at once, a poison message came back ~20 times a second (300 times in 15 s).
      const [first, second, third] = await poison.count(3, 30_000, 'three deliveries of the poison message');
      expect(second - first).toBeGreaterThanOrEqual(900); // 1 s, then 2 s: the lease is kept before the nack
      expect(third - second).toBeGreaterThanOrEqual(1900);
      const failures = logs.matching(/The event handler of "poison" failed/);
      expect(failures).toHaveLength(1); // rate-limited: one line per 10 s, then a count of those left out
      expect(failures[0]).toMatch(/redelivered in 1 s .*no dead-letter policy/);
      expect(failures[0]).not.toMatch(/dead-letter policy of the subscription takes it/);
    } finally {
      await proxy.close();
    }
  }, 40_000);

  it('names a foreign message it drops by its message id and attributes', async () => {
    const id = await fixture.publishRaw(names.topic, '{"hello":1}', { source: 'legacy-billing' });
    await expect(logs.waitFor(new RegExp(`message ${id}\\b.*"source":"legacy-billing"`))).resolves.toMatch(/no matching event handler/);
  });

  it('answers a request whose id is a number (another producer), as a request', async () => {
    const replies = await fixture.topicWithSubscription();
    const body = JSON.stringify({ pattern: 'double', data: 21, id: 7 });
    await fixture.publishRaw(names.topic, body, { 'nest-pattern': 'double', 'nest-reply-to': `projects/nest-transports-test/topics/${replies.topic}` });
    const reply = await fixture.receiveOne(replies.subscription);
    expect(JSON.parse(reply.data.toString())).toEqual({ id: 7, response: 42, isDisposed: true });
    expect(reply.attributes['nest-id']).toBe('7');
  });
});
