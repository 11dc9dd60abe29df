import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { deferred } from '@nest-transports/shared';
import { within } from '@nest-transports/backends';
import { lastValueFrom } from 'rxjs';
import type { Redis } from 'ioredis';
import { RedisStreamsContext, type RedisStreamsServer } from '../src/index.js';
import { client, Fixture, names, redisBackend, Seen, startApp } from './helpers.js';

const n = names('life');
const handled = new Seen<{ server: string; id: number; attempt: number }>();
let slow = { ms: 0, started: new Seen<number>() };
const hang = deferred();

@Controller()
class Work {
  @EventPattern<string>('work')
  async work(@Payload() id: number, @Ctx() ctx: RedisStreamsContext) {
    slow.started.add(id);
    if (slow.ms) await new Promise((resolve) => setTimeout(resolve, slow.ms));
    handled.add({ server: ctx.getGroup(), id, attempt: ctx.getDeliveryAttempt() });
  }

  @EventPattern<string>('hang')
  async hang() {
    await hang.promise;
  }

  @MessagePattern('ping')
  ping() {
    return 'pong';
  }
}

const backend = await redisBackend();
const suite = backend.url ? describe : describe.skip;

suite(`Redis Streams lifecycle, consumers and failures ${backend.reason ?? ''}`, () => {
  const url = backend.url!;
  let fixture: Fixture;
  const opened: Array<{ close(): Promise<void> }> = [];
  const start = async (stream: string, options: Record<string, unknown> = {}) => {
    const started = await startApp(url, [Work], { stream, group: 'svc', replyPrefix: n.replyPrefix, ...options });
    opened.push(started.app);
    return started;
  };
  const fresh = (what: string) => {
    handled.items.length = 0;
    slow = { ms: 0, started: new Seen<number>() };
    return `${n.stream}:${what}`;
  };

  beforeAll(async () => {
    fixture = await Fixture.open(url, n.stream);
  });

  afterAll(async () => {
    hang.resolve();
    for (const app of opened.reverse()) await app.close().catch(() => undefined);
    await fixture?.close();
  });

  const add = (stream: string, pattern: string, id: number) =>
    fixture.redis.xadd(stream, '*', 'nest-pattern', pattern, 'body', JSON.stringify({ pattern, data: id }));

  it('competing consumers: replicas of one group handle each entry once', async () => {
    const stream = fresh('compete');
    await start(stream);
    await start(stream);
    for (let i = 0; i < 40; i++) await add(stream, 'work', i);
    const got = await handled.wait(40);
    expect(got.map((h) => h.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await fixture.settled(stream, 'svc')).toBe(0);
  });

  it('fan-out: each group (service) handles every entry', async () => {
    const stream = fresh('fanout');
    await start(stream, { group: 'billing' });
    await start(stream, { group: 'shipping' });
    for (let i = 0; i < 10; i++) await add(stream, 'work', i);
    const got = await handled.wait(20);
    expect(got.filter((h) => h.server === 'billing').length).toBe(10);
    expect(got.filter((h) => h.server === 'shipping').length).toBe(10);
  });

  it('createGroups: false requires the group and names the command that creates it', async () => {
    const stream = fresh('required');
    await expect(start(stream, { createGroups: false })).rejects.toThrow(`XGROUP CREATE ${stream} svc 0 MKSTREAM`);
    await fixture.redis.xgroup('CREATE', stream, 'svc', '$', 'MKSTREAM');
    await start(stream, { createGroups: false });
    await add(stream, 'work', 1);
    await handled.wait(1);
  });

  it('takes over the entry of a consumer killed with SIGKILL after claimIdle, counting the delivery', async () => {
    const stream = fresh('killed');
    const child: ChildProcess = fork(fileURLToPath(new URL('./fixtures/hanging-consumer.mjs', import.meta.url)), [], {
      env: { PATH: process.env.PATH, REDIS_URL: url, STREAM: stream },
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    try {
      const started = new Seen<Record<string, unknown>>();
      child.on('message', (m) => started.add(m as Record<string, unknown>));
      // A process loading Nest and ioredis on a loaded machine: a generous bound on its start.
      expect((await started.wait(1, 40_000, 'the consumer process to listen'))[0]).toEqual({ listening: true });
      await add(stream, 'work', 7);
      expect((await started.wait(2))[1]).toEqual({ started: 7 });
      child.kill('SIGKILL');
      await within(new Promise((resolve) => child.once('exit', resolve)), 5000, 'the killed consumer to exit');
      expect(await fixture.pending(stream, 'svc')).toBe(1);
      await start(stream, { claimIdle: 500, claimInterval: 100 });
      const [got] = await handled.wait(1);
      expect(got).toEqual({ server: 'svc', id: 7, attempt: 2 });
      expect(await fixture.settled(stream, 'svc')).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('renews the claims of a handler that runs past claimIdle: no other consumer takes its entry', async () => {
    const stream = fresh('renew');
    slow.ms = 1500;
    await start(stream, { claimIdle: 300, claimInterval: 50 });
    await add(stream, 'work', 1);
    await slow.started.wait(1);
    await start(stream, { claimIdle: 300, claimInterval: 50 });
    await handled.wait(1, 5000);
    expect(await fixture.settled(stream, 'svc')).toBe(0);
    expect(slow.started.items).toEqual([1]);
    expect(handled.items).toEqual([{ server: 'svc', id: 1, attempt: 1 }]);
  });

  it('closes gracefully: the handler in flight finishes and is acknowledged; what was not read waits for the next server', async () => {
    const stream = fresh('graceful');
    slow.ms = 300;
    const { app } = await start(stream, { maxConcurrency: 1 });
    for (let i = 0; i < 3; i++) await add(stream, 'work', i);
    await slow.started.wait(1);
    await app.close();
    expect(handled.items.length).toBeGreaterThanOrEqual(1);
    expect(await fixture.pending(stream, 'svc')).toBe(0);
    slow.ms = 0;
    await start(stream);
    const got = await handled.wait(3);
    expect(got.map((h) => h.id).sort()).toEqual([0, 1, 2]);
  });

  it('closeTimeout bounds close(); the entry of a handler still running is left for another consumer', async () => {
    const stream = fresh('timeout');
    const { app } = await start(stream, { closeTimeout: 200 });
    await add(stream, 'hang', 1);
    const deadline = Date.now() + 5000;
    while ((await fixture.pending(stream, 'svc')) === 0 && Date.now() < deadline) await fixture.redis.ping();
    await within(app.close(), 3000, 'close() bounded by closeTimeout');
    expect(await fixture.pending(stream, 'svc')).toBe(1);
  });

  it('reconnects after its connections are killed: status and on() follow, requests work again', async () => {
    const stream = fresh('reconnect');
    const { server } = await start(stream);
    const statuses: string[] = [];
    server.status.subscribe((s) => statuses.push(s));
    const reconnecting = new Seen<number>();
    server.on('reconnecting', reconnecting.add);
    const rpc = client(url, { stream, replyPrefix: n.replyPrefix });
    try {
      expect(await lastValueFrom(rpc.send('ping', {}))).toBe('pong');
      await killConnections(fixture.redis, server);
      await reconnecting.wait(1);
      expect(await lastValueFrom(rpc.send('ping', {}))).toBe('pong');
      expect(statuses).toEqual(expect.arrayContaining(['connected', 'disconnected', 'reconnecting']));
      expect(statuses.at(-1)).toBe('connected');
      expect(server.unwrap<Redis>().status).toBe('ready');
    } finally {
      await rpc.close();
    }
  });
});

/** Kills the server's own connections (by their names), never another test's. */
async function killConnections(redis: Redis, server: RedisStreamsServer): Promise<void> {
  const list = String(await redis.call('CLIENT', 'LIST'));
  const mine = list.split('\n').filter((line) => line.includes(`name=nest:${server.consumerName}`));
  expect(mine.length).toBe(2);
  for (const line of mine) await redis.call('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line)![1]);
}
