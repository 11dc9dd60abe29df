import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { freePort, scaled } from '@nest-transports/backends';
import { BackendUnreachableError, ConnectionClosedError, RequestTimeoutError, uniqueName } from '@nest-transports/shared';
import { PubSubResourceMissingError, PubSubServer } from '../src/index.js';
import { client, clientConfig, Collector, deferred, emulator, Fixture, startApp, stopEmulator, within } from './helpers.js';

let gate = deferred();
const started = new Collector<string>();
const pushed = new Collector<unknown>();

@Controller()
class LifecycleController {
  @MessagePattern('slow')
  async slow(@Payload() data: string) {
    started.push(data);
    await gate.promise;
    return `done ${data}`;
  }

  @MessagePattern('echo')
  echo(@Payload() data: unknown) {
    return data;
  }

  @EventPattern('pushed')
  pushedEvent(@Payload() data: unknown) {
    pushed.push(data);
  }

  @EventPattern('pushed.fails')
  pushedFails(@Payload() _data: unknown) {
    throw new Error('handler failed');
  }
}

const listen = (server: PubSubServer) => new Promise<unknown>((resolve) => server.listen((err?: unknown) => resolve(err)));

const backend = await emulator();
const suite = backend.url ? describe : describe.skip;

suite('PubSub lifecycle (emulator)', () => {
  const url = backend.url!;
  let fixture: Fixture;

  beforeAll(() => {
    fixture = new Fixture(url);
  });

  afterAll(async () => {
    await fixture?.close();
    await stopEmulator();
  });

  it('fails listen() with a clear error when the subscription does not exist', async () => {
    const server = new PubSubServer({ clientConfig: clientConfig(url), subscription: 'no-such-subscription' });
    const err = await listen(server);
    expect(err).toBeInstanceOf(PubSubResourceMissingError);
    expect(String((err as Error).message)).toMatch(
      /subscription "projects\/nest-transports-test\/subscriptions\/no-such-subscription" does not exist.*autoCreate: true/,
    );
    await server.close();
  });

  it('fails connect() with a clear error when the topic does not exist, and creates nothing', async () => {
    const proxy = client(url, { topic: 'no-such-topic' });
    await expect(proxy.connect()).rejects.toThrow(/topic "projects\/nest-transports-test\/topics\/no-such-topic" does not exist/);
    await expect(lastValueFrom(proxy.emit('x', 1))).rejects.toBeInstanceOf(PubSubResourceMissingError);
    await proxy.close();
  });

  it('fails within connectTimeout when the endpoint does not answer', async () => {
    const deadUrl = `127.0.0.1:${await freePort()}`;
    const proxy = client(deadUrl, { topic: 'anything', connectTimeout: 1500 });
    const t0 = Date.now();
    await expect(proxy.connect()).rejects.toBeInstanceOf(BackendUnreachableError);
    expect(Date.now() - t0).toBeLessThan(scaled(5000));
    await proxy.close();
    const server = new PubSubServer({ clientConfig: clientConfig(deadUrl), subscription: 'anything', connectTimeout: 1500 });
    await expect(listen(server)).resolves.toBeInstanceOf(BackendUnreachableError);
    await server.close();
  });

  it('creates missing topics and subscriptions with autoCreate, with the given settings', async () => {
    const topic = uniqueName('auto-t');
    const subscription = uniqueName('auto-s');
    const { app } = await startApp(url, [LifecycleController], {
      topic,
      subscription: { name: subscription, create: { enableMessageOrdering: true } },
      autoCreate: true,
    });
    const proxy = client(url, { topic, autoCreate: true });
    try {
      await expect(firstValueFrom(proxy.send('echo', 'created'))).resolves.toBe('created');
      const [metadata] = await fixture.pubsub.subscription(subscription).getMetadata();
      expect(metadata.enableMessageOrdering).toBe(true);
    } finally {
      await proxy.close();
      await app.close();
    }
  });

  describe('with a server on a fresh subscription', () => {
    let names: { topic: string; subscription: string };
    beforeAll(async () => {
      names = await fixture.topicWithSubscription();
    });

    it('answers requests sent before the server listened, once it starts', async () => {
      const proxy = client(url, { topic: names.topic });
      const early = Promise.all([firstValueFrom(proxy.send('echo', 'a')), firstValueFrom(proxy.send('echo', 'b'))]);
      await proxy.connect();
      const { app } = await startApp(url, [LifecycleController], { subscription: names.subscription });
      try {
        await expect(within(early, 10_000, 'early replies')).resolves.toEqual(['a', 'b']);
      } finally {
        await proxy.close();
        await app.close();
      }
    });

    it('creates a reply topic and subscription per client on connect and deletes them on close', async () => {
      const proxy = client(url, { topic: names.topic });
      await proxy.connect();
      const replyTopic = proxy.replyTopic!;
      const shortName = replyTopic.split('/').pop()!;
      expect(shortName).toMatch(/^nest-replies-/);
      expect(await fixture.exists('topic', shortName)).toBe(true);
      expect(await fixture.exists('subscription', shortName)).toBe(true);
      await proxy.close();
      expect(await fixture.exists('topic', shortName)).toBe(false);
      expect(await fixture.exists('subscription', shortName)).toBe(false);
    });

    it('times out a request nobody answers (requestTimeout) and fails in-flight ones on close', async () => {
      const proxy = client(url, { topic: names.topic, requestTimeout: 300 });
      await expect(firstValueFrom(proxy.send('echo', 'nobody listens'))).rejects.toBeInstanceOf(RequestTimeoutError);
      const pending = firstValueFrom(proxy.send('echo', 'pending')).catch((e) => e);
      await proxy.close();
      await expect(pending).resolves.toBeInstanceOf(ConnectionClosedError);
    });

    it('closes gracefully: in-flight handlers finish and their replies arrive; status ends disconnected', async () => {
      gate = deferred();
      started.clear();
      const { app, server } = await startApp(url, [LifecycleController], { subscription: names.subscription });
      const statuses: string[] = [];
      server.status.subscribe((s) => statuses.push(s));
      const proxy = client(url, { topic: names.topic });
      try {
        const reply = firstValueFrom(proxy.send('slow', 'job'));
        await started.count(1, 10_000, 'the slow handler to start');
        let closed = false;
        const closing = app.close().then(() => (closed = true));
        await new Promise((resolve) => setImmediate(resolve));
        expect(closed).toBe(false);
        gate.resolve();
        await expect(reply).resolves.toBe('done job');
        await closing;
        expect(statuses).toEqual(['connected', 'disconnected']);
      } finally {
        gate.resolve();
        await proxy.close();
      }
    });
  });

  describe('push subscriptions (processing without streaming pull)', () => {
    const envelope = (data: string | Buffer, attributes: Record<string, string> = {}) => ({
      subscription: 'projects/nest-transports-test/subscriptions/push-sub',
      deliveryAttempt: 1,
      message: { data: Buffer.from(data).toString('base64'), attributes, messageId: '1' },
    });

    it('processes a push request and maps the outcome to an HTTP status', async () => {
      const { app, server } = await startApp(url, [LifecycleController], { subscription: (await fixture.topicWithSubscription()).subscription });
      try {
        pushed.clear();
        const ok = await server.handlePush(envelope(JSON.stringify({ pattern: 'pushed', data: { a: 1 } }), { 'nest-pattern': 'pushed' }));
        expect(ok.status).toBe(204);
        expect(pushed.items).toEqual([{ a: 1 }]);
        const failed = await server.handlePush(envelope(JSON.stringify({ pattern: 'pushed.fails', data: 1 })));
        expect(failed.status).toBe(500);
        const malformed = await server.handlePush(envelope('{oops', { 'nest-pattern': 'pushed' }));
        expect(malformed).toMatchObject({ status: 500, outcome: { reason: 'malformed' } });
        expect((await server.handlePush({ nope: true })).status).toBe(400);
      } finally {
        await app.close();
      }
    });

    it('acks and drops malformed messages with onMalformed: "discard"', async () => {
      const server = new PubSubServer({ clientConfig: clientConfig(url), subscription: 'push-sub', onMalformed: 'discard' });
      server.preparePush();
      const result = await server.handlePush(envelope('{oops', { 'nest-pattern': 'pushed' }));
      expect(result).toMatchObject({ status: 204, outcome: { action: 'ack', reason: 'malformed' } });
      await server.close();
    });
  });
});
