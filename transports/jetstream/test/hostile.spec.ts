import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { firstValueFrom, timeout } from 'rxjs';
import { freePort, scaled } from '@nest-transports/backends';
import { type JetStreamClient, JetStreamHeaders } from '../src/index.js';
import { client, Fixture, names, natsBackend } from './helpers.js';

/** The saga's inventory service as deployed: its own process, configured from the environment. */
const ENTRY = fileURLToPath(new URL('../../../examples/saga/dist/service.js', import.meta.url));

const backend = await natsBackend();
const suite = backend.url ? describe : describe.skip;

suite(`JetStream server in its own process, fed hostile messages ${backend.reason ?? ''}`, () => {
  const url = backend.url!;
  const n = names('hostile');
  const prefix = n.prefix;
  const stream = `${prefix}-inventory`;
  const deadLetterSubject = `${prefix}.dead-letter.inventory`;
  let fixture: Fixture;
  let service: ChildProcess;
  let output = '';
  let good: JetStreamClient;

  /** A well-behaved client after each hostile case: the service is alive and answers. */
  const stillServing = async () => {
    expect(service.exitCode).toBeNull();
    expect(await firstValueFrom(good.send<number>('inventory.stock', 'book-1').pipe(timeout(scaled(10_000))))).toEqual(expect.any(Number));
  };

  beforeAll(async () => {
    fixture = await Fixture.open(url);
    // The infrastructure of a deployed service (SAGA_PREFIX=prefix): its stream, durable consumer, dead-letter stream.
    await fixture.stream(stream, [`${prefix}.inventory.>`]);
    await fixture.consumer(stream, 'inventory');
    await fixture.stream(`${stream}-dead`, [deadLetterSubject]);
    const healthPort = await freePort();
    service = fork(ENTRY, [], {
      env: {
        PATH: process.env.PATH,
        SERVICE: 'inventory',
        TRANSPORT: 'jetstream',
        NATS_URL: url,
        SAGA_PREFIX: prefix,
        HEALTH_HOST: '127.0.0.1',
        HEALTH_PORT: String(healthPort),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    service.stdout!.on('data', (d) => (output += String(d)));
    service.stderr!.on('data', (d) => (output += String(d)));
    const deadline = Date.now() + 90_000; // a Node process loading Nest took over 20 s on a busy machine; exiting fails at once
    for (;;) {
      if (service.exitCode !== null) throw new Error(`the service exited (${service.exitCode}): ${output}`);
      const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`the service was not ready within 90 s: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    good = client(url, { requestPrefix: `${prefix}.rpc`, subject: (route) => `${prefix}.inventory.${route}` });
    await stillServing();
  }, 120_000);

  afterAll(async () => {
    await good?.close();
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service.once('exit', resolve));
      service.kill('SIGTERM');
      await exited;
    }
    await fixture?.close();
  });

  it('survives junk in its stream: undecodable bodies go to the dead-letter stream', async () => {
    const h = natsHeaders();
    h.set(JetStreamHeaders.PATTERN, 'order.placed');
    await fixture.js.publish(`${prefix}.inventory.order.placed`, randomBytes(2048), { headers: h });
    await fixture.js.publish(`${prefix}.inventory.order.placed`, '{"pattern":"order.placed","data":', { headers: h });
    await fixture.js.publish(`${prefix}.inventory.anything`, '\u0000\uffff not json at all');
    const dead = await fixture.read(`${stream}-dead`, 2);
    expect(dead.map((m) => m.headers?.get('nest-dead-letter-reason'))).toEqual([
      expect.stringMatching(/Malformed packet/),
      expect.stringMatching(/Malformed packet/),
    ]);
    await stillServing();
  });

  it('survives junk on its request subjects: no headers, binary bodies, no reply subject, forged ids, a flood', async () => {
    const subject = `${prefix}.rpc.inventory.stock`;
    fixture.nc.publish(subject, randomBytes(4096));
    fixture.nc.publish(subject, 'not json', { reply: `_INBOX.${prefix}.x` });
    const h = natsHeaders();
    h.set(JetStreamHeaders.ID, 'forged');
    h.set(JetStreamHeaders.PATTERN, 'inventory.stock');
    fixture.nc.publish(subject, JSON.stringify({ pattern: 'inventory.stock', data: 'book-1', id: { not: 'a string' } }), {
      headers: h,
      reply: `_INBOX.${prefix}.y`,
    });
    fixture.nc.publish(subject, JSON.stringify({ pattern: 'inventory.stock', data: 'book-1', id: 'no-reply-subject' }), { headers: h });
    for (let i = 0; i < 2000; i++)
      fixture.nc.publish(subject, JSON.stringify({ pattern: 'inventory.stock', data: 'pen-7', id: `flood-${i}` }), {
        headers: h,
        reply: `_INBOX.${prefix}.flood`,
      });
    await fixture.nc.flush();
    await stillServing();
  });
});
