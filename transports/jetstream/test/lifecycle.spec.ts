import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeliverPolicy } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { freePort, scaled } from '@nest-transports/backends';
import { deferred } from '@nest-transports/shared';
import { BackendUnreachableError, ConnectionClosedError, JetStreamClient, JetStreamServer, type JetStreamServerOptions } from '../src/index.js';
import { client, Fixture, names, natsBackend, Seen, startApp } from './helpers.js';
import { PrivateNats } from './private-nats.js';

const n = names('lc');
const handled = new Seen<number>();
const slowStarted = deferred();
const eventStarted = deferred();
let releaseStuck = deferred();

@Controller()
class Service {
  @MessagePattern('ping')
  ping() {
    return 'pong';
  }

  @MessagePattern('slow')
  async slow(@Payload() ms: number) {
    slowStarted.resolve();
    await new Promise((resolve) => setTimeout(resolve, ms));
    return 'finished';
  }

  @EventPattern<string>(n.subject('event'))
  event(@Payload() i: number) {
    handled.add(i);
  }

  @EventPattern<string>(n.subject('slow-event'))
  async slowEvent(@Payload() ms: number) {
    eventStarted.resolve();
    await new Promise((resolve) => setTimeout(resolve, ms));
    handled.add(ms);
  }

  @EventPattern<string>(n.subject('stuck'))
  async stuck() {
    eventStarted.resolve();
    await releaseStuck.promise;
  }
}

const listenError = async (url: string, options: JetStreamServerOptions) => {
  const started = Date.now();
  const error = await startApp(url, [Service], options).then(
    async ({ app }) => {
      await app.close();
      return undefined;
    },
    (err: unknown) => err as Error,
  );
  return { error, ms: Date.now() - started };
};

const backend = await natsBackend();
const suite = backend.url ? describe : describe.skip;

suite(`JetStream lifecycle ${backend.reason ?? ''}`, () => {
  const url = backend.url!;
  let fixture: Fixture;

  beforeAll(async () => {
    fixture = await Fixture.open(url);
    await fixture.stream(n.stream, [n.subjects]);
  });

  afterAll(() => fixture?.close());

  describe('listen() fails clearly, naming what is missing or wrong', () => {
    it('a missing stream, or one autoCreate cannot create', async () => {
      const { error } = await listenError(url, { stream: `${n.stream}_NONE`, consumer: 'c' });
      expect(error?.message).toMatch(new RegExp(`stream "${n.stream}_NONE" does not exist.*autoCreate: true`));
      const { error: noSubjects } = await listenError(url, { stream: `${n.stream}_NONE`, consumer: 'c', autoCreate: true });
      expect(noSubjects?.message).toMatch(/streamConfig: \{ subjects/);
    });

    it('a missing consumer', async () => {
      const { error } = await listenError(url, { stream: n.stream, consumer: 'nobody' });
      expect(error?.message).toMatch(new RegExp(`consumer "nobody" of stream "${n.stream}" does not exist.*--ack explicit`));
    });

    it('a push consumer, or one that does not ack explicitly', async () => {
      await fixture.consumer(n.stream, 'push', { deliver_subject: `deliver.${n.prefix}` });
      expect((await listenError(url, { stream: n.stream, consumer: 'push' })).error?.message).toMatch(/is a push consumer/);
      await fixture.jsm.consumers.add(n.stream, { durable_name: 'none', ack_policy: 'none' as never, deliver_policy: DeliverPolicy.All });
      expect((await listenError(url, { stream: n.stream, consumer: 'none' })).error?.message).toMatch(/acknowledges with policy "none"/);
    });

    it('a stream over a request subject (its publish ack would answer the requests)', async () => {
      const { error } = await listenError(url, { requestPrefix: n.subject('rpc') });
      expect(error?.message).toMatch(new RegExp(`stream "${n.stream}" captures the request subject "${n.subject('rpc.ping')}"`));
    });

    it('a dead-letter subject the consumer itself would take back', async () => {
      await fixture.consumer(n.stream, 'all');
      const { error } = await listenError(url, { stream: n.stream, consumer: 'all', deadLetterSubject: n.subject('dead') });
      expect(error?.message).toMatch(/dead-letter subject .* captured by stream/);
    });

    it('a NATS server that does not answer, within connectTimeout', async () => {
      const nowhere = `nats://127.0.0.1:${await freePort()}`;
      const { error, ms } = await listenError(nowhere, { connectTimeout: 1000 });
      expect(error).toBeInstanceOf(BackendUnreachableError);
      expect(error?.message).toMatch(/cannot reach NATS at nats:\/\/127\.0\.0\.1/);
      expect(ms).toBeLessThan(5000);
      const unreachable = new JetStreamClient({ servers: nowhere, connectTimeout: 1000 });
      await expect(unreachable.connect()).rejects.toBeInstanceOf(BackendUnreachableError);
      await expect(firstValueFrom(unreachable.send('ping', 1))).rejects.toBeInstanceOf(BackendUnreachableError);
      await unreachable.close();
    });
  });

  it('reports a NATS server without JetStream, on both ends', async () => {
    if (PrivateNats.unavailable()) return; // the shared server has JetStream: nothing else to test with
    const plain = await PrivateNats.start({ jetstream: false });
    try {
      const { error } = await listenError(plain.url, {});
      expect(error?.message).toMatch(/JetStream does not answer.*Start nats-server with JetStream enabled \(-js\)/);
      const c = client(plain.url);
      await expect(c.connect()).rejects.toMatchObject({ code: 'JETSTREAM_UNAVAILABLE' });
      await c.close();
    } finally {
      await plain.close();
    }
  });

  it('closes before connecting, twice, without throwing; reports connected, then disconnected', async () => {
    const idle = client(url);
    await idle.close();
    await idle.close();
    const statuses: string[] = [];
    const { app, server } = await startApp(url, [Service], {});
    server.status.subscribe((s) => statuses.push(s));
    const c = client(url);
    const clientStatuses: string[] = [];
    c.status.subscribe((s) => clientStatuses.push(s));
    expect(await firstValueFrom(c.send('ping', 1))).toBe('pong');
    await c.close();
    await app.close();
    expect(statuses).toEqual(['connected', 'disconnected']);
    expect(clientStatuses).toEqual(['connected', 'disconnected']);
  });

  it('unwrap() gives the NatsConnection once connected (NOT_CONNECTED before); on() passes on its disconnect and reconnect', async () => {
    const server = new JetStreamServer({ servers: url });
    const c = client(url);
    expect(() => server.unwrap()).toThrow(expect.objectContaining({ code: 'NOT_CONNECTED', message: expect.stringMatching(/listen\(\)/) }));
    expect(() => c.unwrap()).toThrow(expect.objectContaining({ code: 'NOT_CONNECTED', message: expect.stringMatching(/connect\(\)/) }));
    const { app, server: listening } = await startApp(url, [Service], {});
    try {
      await c.connect();
      const seen = new Seen<string>();
      for (const type of ['disconnect', 'reconnect'] as const) {
        listening.on(type, () => seen.add(`server ${type}`));
        c.on(type, () => seen.add(`client ${type}`));
      }
      // A forced reconnect of each end's own connection: NATS reports it as for an outage.
      await listening.unwrap<NatsConnection>().reconnect();
      await c.unwrap<NatsConnection>().reconnect();
      await seen.wait(4, 10_000, 'a disconnect and a reconnect of each end');
      expect([...seen.items].sort()).toEqual(['client disconnect', 'client reconnect', 'server disconnect', 'server reconnect']);
      expect(await firstValueFrom(c.send('ping', 1))).toBe('pong');
    } finally {
      await c.close();
      await app.close();
    }
  });

  it('closes gracefully: the request and the event in flight finish, the reply arrives, the event is acknowledged', async () => {
    const consumer = `${n.consumer}-graceful`;
    await fixture.consumer(n.stream, consumer, { filter_subject: n.subject('slow-event') });
    const { app } = await startApp(url, [Service], { stream: n.stream, consumer });
    const c = client(url);
    const reply = firstValueFrom(c.send('slow', 400));
    await c.connect();
    await lastValueFrom(c.emit(n.subject('slow-event'), 300), { defaultValue: undefined });
    await Promise.all([slowStarted.promise, eventStarted.promise]);
    await app.close();
    expect(await reply).toBe('finished');
    expect(handled.items).toContain(300);
    expect(await fixture.pending(n.stream, consumer)).toMatchObject({ unacked: 0, waiting: 0 });
    await c.close();
  });

  it('stops waiting after closeTimeout, leaving the unfinished message to be redelivered', async () => {
    const consumer = `${n.consumer}-stuck`;
    await fixture.consumer(n.stream, consumer, { filter_subject: n.subject('stuck') });
    releaseStuck = deferred();
    const { app } = await startApp(url, [Service], { stream: n.stream, consumer, closeTimeout: 500 });
    const c = client(url);
    const started = eventStarted;
    await lastValueFrom(c.emit(n.subject('stuck'), 1), { defaultValue: undefined });
    await started.promise;
    const closing = Date.now();
    await app.close();
    expect(Date.now() - closing).toBeLessThan(scaled(3000));
    expect(await fixture.pending(n.stream, consumer)).toMatchObject({ unacked: 1 });
    releaseStuck.resolve();
    await c.close();
  });
});

const privateSuite = backend.url && !PrivateNats.unavailable() ? describe : describe.skip;

privateSuite('JetStream against a NATS server that goes away', () => {
  let nats: PrivateNats;
  let fixture: Fixture;

  beforeAll(async () => {
    nats = await PrivateNats.start();
    fixture = await Fixture.open(nats.url);
    await fixture.stream(n.stream, [n.subjects], { storage: 'file' as never });
    await fixture.consumer(n.stream, n.consumer, { filter_subject: n.subject('event') });
  });

  afterAll(async () => {
    await fixture?.close();
    await nats?.close();
  });

  it('leaves nothing behind on close: no connection, no subscription, no pull request, no stream or consumer of its own (its own connection or one it was given)', async () => {
    const account = async () => {
      const info = await fixture.jsm.getAccountInfo();
      return { streams: info.streams, consumers: info.consumers };
    };
    const resources = await account();
    const { app } = await startApp(nats.url, [Service], { stream: n.stream, consumer: n.consumer, connectionOptions: { name: 'lc-server' } });
    // listen() resolved: the NATS server already knows the request subscriptions (a first request finds a responder).
    expect(await nats.subscriptions('lc-server')).toEqual(expect.arrayContaining(['nest.rpc.ping', 'nest.rpc.slow']));
    const c = client(nats.url, { connectionOptions: { name: 'lc-client' } });
    expect(await firstValueFrom(c.send('ping', 1))).toBe('pong');
    expect((await nats.subscriptions('lc-server')).length).toBeGreaterThan(0);
    expect(await nats.subscriptions('lc-client')).toEqual(expect.arrayContaining([expect.stringMatching(/^_INBOX\.[^.]+\.\*$/)]));
    await c.close();
    await app.close();
    expect(await nats.connections('lc-server')).toBe(0);
    expect(await nats.connections('lc-client')).toBe(0);
    const consumer = await fixture.jsm.consumers.info(n.stream, n.consumer);
    expect({ waiting: consumer.num_waiting, unacked: consumer.num_ack_pending }).toEqual({ waiting: 0, unacked: 0 });
    expect(await account()).toEqual(resources);

    const shared = await connect({ servers: nats.url, name: 'lc-shared' });
    try {
      await shared.request('$JS.API.INFO', undefined, { timeout: 5000 }); // the connection's own request inbox, before the transport uses it
      const before = await nats.subscriptions('lc-shared');
      const { app: sharedApp } = await startApp(nats.url, [Service], { stream: n.stream, consumer: n.consumer, connection: shared });
      const sharedClient = new JetStreamClient({ connection: shared });
      expect(await firstValueFrom(sharedClient.send('ping', 1))).toBe('pong');
      expect((await nats.subscriptions('lc-shared')).length).toBeGreaterThan(before.length);
      await sharedClient.close();
      await sharedApp.close();
      expect(shared.isClosed()).toBe(false);
      expect(await nats.subscriptions('lc-shared')).toEqual(before);
      expect((await fixture.jsm.consumers.info(n.stream, n.consumer)).num_waiting).toBe(0); // its pull request ended with it
    } finally {
      await shared.close();
    }
  });

  it('reconnects after an outage: status follows, requests in flight fail, events emitted meanwhile fail clearly, then all works again', async () => {
    const { app, server } = await startApp(nats.url, [Service], { stream: n.stream, consumer: n.consumer });
    const c = client(nats.url, { publishTimeout: 500, connectionOptions: { reconnectTimeWait: 100 } });
    const serverStatuses: string[] = [];
    const clientStatuses: string[] = [];
    server.status.subscribe((s) => serverStatuses.push(s));
    c.status.subscribe((s) => clientStatuses.push(s));
    try {
      expect(await firstValueFrom(c.send('ping', 1))).toBe('pong');
      const inFlight = firstValueFrom(c.send('slow', 5000));
      await slowStarted.promise;
      await nats.stop();
      await expect(inFlight).rejects.toBeInstanceOf(ConnectionClosedError);
      await expect(lastValueFrom(c.emit(n.subject('event'), -1), { defaultValue: undefined })).rejects.toMatchObject({ code: 'PUBLISH_TIMEOUT' });
      expect(clientStatuses).toContain('disconnected');
      const reconnected = Promise.all([firstMatching(server, 'connected', serverStatuses), firstMatching(c, 'connected', clientStatuses)]);
      await nats.restart();
      await reconnected;
      await lastValueFrom(c.emit(n.subject('event'), 42), { defaultValue: undefined });
      // The event itself, not a count: the -1 may or may not be stored (the client's buffer can send it
      // on reconnect), and 42 may be handled before the emit's acknowledgement reaches the client.
      await handled.waitFor((i) => i === 42, 15_000, 'the event emitted after the reconnect');
      expect(await firstValueFrom(c.send('ping', 1))).toBe('pong');
    } finally {
      await c.close();
      await app.close();
    }
  });
});

/** Resolves when `status` reaches `wanted` after what `seen` holds now. */
function firstMatching(source: { status: { subscribe(cb: (s: string) => void): { unsubscribe(): void } } }, wanted: string, seen: string[]): Promise<void> {
  const from = seen.length;
  return new Promise((resolve) => {
    const subscription = source.status.subscribe(() => {
      if (seen.slice(from).includes(wanted)) {
        queueMicrotask(() => subscription.unsubscribe());
        resolve();
      }
    });
  });
}
