import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, timeout } from 'rxjs';
import { freePort, resolveBackend, scaled, stopAllBackends } from '@nest-transports/backends';
import { SqsClient } from '@nest-transports/sqs';
import { WsClient } from '@nest-transports/ws';
import { Redis } from 'ioredis';
import type { Order, OrderOutcome } from '../../saga/src/domain.js';

const ENTRY = fileURLToPath(new URL('../../saga/dist/service.js', import.meta.url));

interface Replica {
  child: ChildProcess;
  output: string[];
  healthPort: number;
}

const replicas: Replica[] = [];

/** Starts one service process with the environment a Deployment would give it, and waits until it is ready. */
async function startReplica(env: Record<string, string>): Promise<Replica> {
  const replica = await spawnReplica(env);
  await waitReady(replica);
  return replica;
}

async function spawnReplica(env: Record<string, string>): Promise<Replica> {
  const healthPort = await freePort();
  const output: string[] = [];
  const child = fork(ENTRY, [], {
    env: { PATH: process.env.PATH, HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(healthPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout!.on('data', (d) => output.push(String(d)));
  child.stderr!.on('data', (d) => output.push(String(d)));
  const replica = { child, output, healthPort };
  replicas.push(replica);
  return replica;
}

/** GET a probe: its status and terminus's JSON report; undefined while nothing answers. */
async function probe(replica: Replica, path: '/healthz' | '/readyz') {
  return fetch(`http://127.0.0.1:${replica.healthPort}${path}`).then(
    async (r) => ({ status: r.status, body: (await r.json()) as { status: string; info?: Record<string, any>; error?: Record<string, any> } }),
    () => undefined,
  );
}

/** Polls a probe until `done` holds (bounded), returning its last answer. */
async function probeUntil(replica: Replica, path: '/healthz' | '/readyz', done: (answer: Awaited<ReturnType<typeof probe>>) => boolean, bound = 90_000) {
  const ms = scaled(bound);
  const deadline = Date.now() + ms;
  for (;;) {
    if (replica.child.exitCode !== null) throw new Error(`exited ${replica.child.exitCode}: ${replica.output.join('')}`);
    const answer = await probe(replica, path);
    if (done(answer)) return answer!;
    if (Date.now() > deadline) throw new Error(`${path} answered ${JSON.stringify(answer)} after ${ms} ms: ${replica.output.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A replica is a Node process loading Nest and a transport: on a busy machine that took over 20 s
// before it printed anything. The bound is for a replica that never comes up; one that exits fails at once.
async function waitReady(replica: Replica, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (replica.child.exitCode !== null) throw new Error(`exited ${replica.child.exitCode}: ${replica.output.join('')}`);
    const ok = await fetch(`http://127.0.0.1:${replica.healthPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within ${ms} ms: ${replica.output.join('')}`);
}

function stop(replica: Replica): Promise<number | null> {
  if (replica.child.exitCode !== null) return Promise.resolve(replica.child.exitCode);
  return new Promise((resolve) => {
    replica.child.once('exit', (code) => resolve(code));
    replica.child.kill('SIGTERM');
  });
}

const order = (orderId: string): Order => ({ orderId, customerId: 'c-1', lines: [{ sku: 'pen-7', quantity: 1 }], amount: 150, card: '4242424242424242' });

afterEach(async () => {
  const codes = await Promise.all(replicas.splice(0).map(stop));
  expect(codes.every((c) => c === 0)).toBe(true); // SIGTERM shuts each service down cleanly
});
afterAll(() => stopAllBackends());

describe('the saga services deployed as separate processes', () => {
  it('run over WebSockets with peers found by URL, answer health probes, and stop on SIGTERM', async () => {
    const ports = { orders: await freePort(), inventory: await freePort(), payments: await freePort() };
    const urls = {
      ORDERS_URL: `ws://127.0.0.1:${ports.orders}`,
      INVENTORY_URL: `ws://127.0.0.1:${ports.inventory}`,
      PAYMENTS_URL: `ws://127.0.0.1:${ports.payments}`,
    };
    for (const service of ['inventory', 'payments', 'orders'] as const) {
      await startReplica({ SERVICE: service, TRANSPORT: 'ws', PORT: String(ports[service]), ...urls });
    }
    const health = await fetch(`http://127.0.0.1:${replicas[0].healthPort}/healthz`);
    expect(health.status).toBe(200);
    const client = new WsClient({ url: urls.ORDERS_URL });
    try {
      const outcome = await firstValueFrom(
        client.send<OrderOutcome>('orders.place', { order: order('ws-1'), variant: 'orchestrated' }).pipe(timeout(scaled(10_000))),
      );
      expect(outcome).toMatchObject({ status: 'confirmed' });
      // Each process logged its part of the order with the trace id the transports carried across them.
      const traces = replicas.map((r) => [...r.output.join('').matchAll(/trace ([0-9a-f]{32}) .*\(order ws-1\)/g)].map((m) => m[1]));
      expect(traces.map((ids) => ids.length > 0)).toEqual([true, true, true]);
      expect(new Set(traces.flat()).size).toBe(1);
    } finally {
      await client.close();
    }
  }, 300_000);

  it("answer the readiness probe with the transport's health(): up with the backend, down with the reason without it", async () => {
    const redisBackend = await resolveBackend('redis');
    if (!redisBackend.available) throw new Error(redisBackend.reason);
    const prefix = `deploy-${Date.now().toString(36)}`;
    const redis = new Redis(redisBackend.url);
    try {
      const up = await startReplica({ SERVICE: 'inventory', TRANSPORT: 'redis-streams', REDIS_URL: redisBackend.url, SAGA_PREFIX: prefix });
      const ready = await probe(up, '/readyz');
      expect(ready).toMatchObject({
        status: 200,
        body: { status: 'ok', info: { inventory: { status: 'up', group: `${prefix}-inventory/inventory`, backlog: 0, unacked: 0 } } },
      });

      const nowhere = `redis://127.0.0.1:${await freePort()}`;
      const down = await spawnReplica({ SERVICE: 'inventory', TRANSPORT: 'redis-streams', REDIS_URL: nowhere, SAGA_PREFIX: prefix });
      const unready = await probeUntil(down, '/readyz', (answer) => answer?.body.error?.inventory?.message !== 'starting' && answer !== undefined);
      expect(unready).toMatchObject({
        status: 503,
        body: { status: 'error', error: { inventory: { status: 'down', message: expect.stringContaining(nowhere) } } },
      });
      expect(await probe(down, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } }); // alive: it keeps trying
    } finally {
      await redis.del(`${prefix}-inventory`);
      redis.disconnect();
    }
  }, 300_000);

  it('share one SQS queue between two payments replicas (competing consumers)', async () => {
    const sqsBackend = await resolveBackend('sqs');
    if (!sqsBackend.available) throw new Error(sqsBackend.reason);
    const prefix = `deploy-${Date.now().toString(36)}`;
    const sqs = { endpoint: sqsBackend.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    const admin = new SQSClient(sqs);
    const queues: Record<string, string> = {};
    for (const s of ['orders', 'inventory', 'payments']) queues[s] = (await admin.send(new CreateQueueCommand({ QueueName: `${prefix}-${s}` }))).QueueUrl!;
    admin.destroy();
    const env = {
      TRANSPORT: 'sqs',
      SQS_ENDPOINT: sqsBackend.url,
      SAGA_PREFIX: prefix,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    await startReplica({ ...env, SERVICE: 'inventory' });
    await startReplica({ ...env, SERVICE: 'payments', HOSTNAME: 'payments-a' });
    await startReplica({ ...env, SERVICE: 'payments', HOSTNAME: 'payments-b' });
    await startReplica({ ...env, SERVICE: 'orders' });

    const client = new SqsClient({ sqs, queue: queues.orders });
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          firstValueFrom(client.send<OrderOutcome>('orders.place', { order: order(`${prefix}-${i}`), variant: 'orchestrated' }).pipe(timeout(scaled(30_000)))),
        ),
      );
      expect(outcomes.every((o) => o.status === 'confirmed')).toBe(true);
      const byReplica = new Set(outcomes.map((o) => (o.status === 'confirmed' ? o.paymentId.split('_')[1] : '')));
      expect(byReplica).toEqual(new Set(['payments-a', 'payments-b']));
    } finally {
      await client.close();
    }
  }, 400_000);
});
