import { afterEach, describe, expect, it } from '@jest/globals';
import { Observable } from 'rxjs';
import type { HandlerKind, RunEnv } from '../src/descriptor.js';
import { request } from '../src/rig.js';
import { missingRequirement, notApplicableReason, runScenario, runTransport, scenarioLimit, timeScale, unavailableOutcome } from '../src/runner.js';
import type { Scenario } from '../src/scenario.js';
import { scenarios } from '../src/scenarios/index.js';
import {
  BOOTSTRAP_CLIENT,
  BootstrapClient,
  EnvelopeClient,
  LeakyServer,
  LossyClient,
  TaggedClient,
  TaggedServer,
  ThrowingClient,
  bootstrapClientModule,
  fake,
} from './fakes.js';

const byId = (id: string) => scenarios.find((s) => s.id === id)!;
const scenario = (run: Scenario['run'], over: Partial<Scenario> = {}): Scenario => ({
  id: 'unit.x',
  title: 'x',
  needs: ['requestResponse'],
  patterns: { messages: ['sum'] },
  sends: '',
  asserts: '',
  run,
  ...over,
});
const up = { available: true as const, description: 'none' };

describe('runner', () => {
  const ci = process.env.CI;
  afterEach(() => {
    process.env.CI = ci;
  });

  it('every catalogue id is unique and every DESIGN.md scenario exists', () => {
    const ids = scenarios.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [
      'rr.basic',
      'rr.object-pattern',
      'rr.async',
      'rr.concurrent',
      'rr.stream',
      'rr.stream-empty',
      'rr.payload-types',
      'rr.payload-large',
      'rr.payload-too-large',
      'rr.no-handler',
      'rr.rpc-exception',
      'rr.unknown-error',
      'rr.timeout',
      'rr.unsubscribe',
      'ev.basic',
      'ev.multi-handler',
      'ev.no-handler',
      'ev.handler-throws',
      'ev.order',
      'ev.competing-consumers',
      'ctx.type',
      'ctx.metadata',
      'pipe.validation',
      'life.status',
      'life.client-first',
      'life.reconnect',
      'life.server-restart',
      'life.graceful-close',
      'life.unreachable',
      'life.slow-reader',
      'del.redelivery',
      'del.durable',
      'del.no-loss',
      'ser.custom',
    ])
      expect(ids).toContain(id);
  });

  it('every scenario documents its patterns, what it sends and what it asserts', () => {
    for (const s of scenarios) {
      expect([s.id, (s.patterns.messages ?? []).length + (s.patterns.events ?? []).length > 0]).toEqual([s.id, true]);
      expect([s.id, s.sends.length > 10, s.asserts.length > 10]).toEqual([s.id, true, true]);
    }
  });

  it('a scenario needing an unclaimed capability is n/a with the reason, and never runs', async () => {
    let ran = false;
    const s = scenario(async () => void (ran = true), { needs: ['streaming'] });
    expect(notApplicableReason(fake(), s)).toBe('not claimed: streaming');
    const r = await runScenario(fake(), s, up);
    expect(r).toMatchObject({ outcome: 'n/a', error: 'not claimed: streaming' });
    expect(ran).toBe(false);
  });

  it('a descriptor can declare a claimed scenario not applicable, with its reason', () => {
    expect(notApplicableReason(fake({ notApplicable: { 'rr.basic': 'no such thing here' } }), byId('rr.basic'))).toBe('no such thing here');
  });

  it('a scenario needing a package that is not installed is skipped with the install line, and never runs', async () => {
    let ran = false;
    const s = scenario(async () => void (ran = true), { requires: ['class-validator', 'no-such-package-here'] });
    expect(missingRequirement(s)).toBe('needs no-such-package-here: npm install --save-dev no-such-package-here');
    expect(await runScenario(fake(), s, up)).toMatchObject({ outcome: 'skipped', error: expect.stringContaining('no-such-package-here') });
    expect(ran).toBe(false);
    expect(missingRequirement(byId('pipe.validation'))).toBeUndefined();
  });

  it('an unreachable backend is skipped, but fails under CI=true unless the machine does not offer it', async () => {
    const down = { available: false as const, reason: 'nothing on 127.0.0.1:1' };
    delete process.env.CI;
    expect(
      await runScenario(
        fake(),
        scenario(async () => {}),
        down,
      ),
    ).toMatchObject({ outcome: 'skipped', error: down.reason });
    process.env.CI = 'true';
    expect(
      await runScenario(
        fake(),
        scenario(async () => {}),
        down,
      ),
    ).toMatchObject({ outcome: 'fail' });
    expect(unavailableOutcome(fake({ requiredInCi: () => false }))).toBe('skipped');
  });

  it("a slow backend's timeoutMs stretches every bound of its scenarios, the waits inside them included", async () => {
    const slow = fake({ timeoutMs: 30_000 });
    expect([timeScale(fake()), timeScale(slow), timeScale(fake({ timeoutMs: 5_000 }))]).toEqual([1, 1.5, 1]);
    expect([scenarioLimit(slow, byId('rr.basic')), scenarioLimit(slow, byId('rr.concurrent'))]).toEqual([30_000, 180_000]);
    let waits: number[] = [];
    await runScenario(
      slow,
      scenario(async (rig) => void (waits = [rig.ms(10_000), rig.scale])),
      up,
    );
    expect(waits).toEqual([15_000, 1.5]);
  });

  it("the run's timeScale (a busy machine) multiplies every row's bounds, on top of the row's own", async () => {
    const slow = fake({ timeoutMs: 30_000 });
    expect([timeScale(fake(), { timeScale: 2 }), timeScale(slow, { timeScale: 2 })]).toEqual([2, 3]);
    expect(scenarioLimit(slow, byId('rr.basic'), { timeScale: 2 })).toBe(60_000);
    expect(() => timeScale(fake(), { timeScale: 0.5 })).toThrow('timeScale is 0.5: use a number of at least 1');
    let waits: number[] = [];
    await runScenario(
      fake(),
      scenario(async (rig) => void (waits = [rig.ms(10_000), rig.scale])),
      up,
      { timeScale: 3 },
    );
    expect(waits).toEqual([30_000, 3]);
  });

  it('rr.concurrent waits as long as replies keep coming, and fails once none came for 10 s, counting the lost ones', async () => {
    const lossy = fake({ client: (env, codecs) => new LossyClient({ host: '127.0.0.1', port: env.port, ...codecs }) });
    const r = await runScenario(lossy, byId('rr.concurrent'), up);
    expect(r.outcome).toBe('fail');
    expect(r.error).toMatch(/^5 of 500 callers got nothing, and no reply arrived for 10000 ms/);
  }, 60_000);

  it('a hung scenario fails with a timeout instead of hanging the run', async () => {
    const r = await runScenario(
      fake(),
      scenario(() => new Promise(() => {}), { timeoutMs: 100 }),
      up,
    );
    expect(r.outcome).toBe('fail');
    expect(r.error).toMatch(/timed out after 100 ms/);
  });

  it('a failing assertion fails; servers and clients are closed, then cleanup(env) runs', async () => {
    const order: string[] = [];
    const t = fake({ cleanup: async (env) => void order.push(`cleanup ${env.scenario}`) });
    const failing = await runScenario(
      t,
      scenario(async (rig) => {
        const app = await rig.server([]);
        app.status.subscribe((s) => s === 'disconnected' && order.push('server closed'));
        await rig.client();
        throw new Error('boom');
      }),
      up,
    );
    expect(failing).toMatchObject({ outcome: 'fail', error: 'boom' });
    expect(order).toEqual(['server closed', 'cleanup unit.x']);
  });

  it("a node:assert failure shows its message (under jest node:assert's errors come from another realm)", async () => {
    const { default: assert } = await import('node:assert');
    const r = await runScenario(
      fake(),
      scenario(async () => assert.equal(3, 0, '3 of 500 callers got no answer')),
      up,
    );
    expect(r).toMatchObject({ outcome: 'fail', error: '3 of 500 callers got no answer' });
  });

  it('cleanup(env) runs after a timeout too, and an error from it fails the scenario', async () => {
    const cleaned: string[] = [];
    const t = fake({
      cleanup: async (env) => {
        cleaned.push(env.ns);
        throw new Error('queue still in use');
      },
    });
    const timedOut = await runScenario(
      t,
      scenario(() => new Promise(() => {}), { timeoutMs: 50 }),
      up,
    );
    expect(timedOut.error).toMatch(/timed out/);
    const passed = await runScenario(
      t,
      scenario(async () => {}),
      up,
    );
    expect(passed).toMatchObject({ outcome: 'fail', error: 'cleanup(env) threw: queue still in use' });
    expect(cleaned).toHaveLength(2);
    expect(cleaned[0]).not.toBe(cleaned[1]);
  });

  it('cleanupRun() runs once after the last scenario; its error is an error of the row', async () => {
    let runs = 0;
    const report = await runTransport(
      fake({
        cleanupRun: async () => {
          runs++;
          throw new Error('admin client would not close');
        },
      }),
      [scenario(async () => {}), scenario(async () => {}, { id: 'unit.y' })],
    );
    expect(runs).toBe(1);
    expect(report.errors).toEqual(['cleanupRun() threw: admin client would not close']);
    expect(report.capabilities).toEqual(['requestResponse', 'events']);
  });

  it('prepare(env) gets every pattern of the run, namespaced, by kind; handlerPattern is told the kind', async () => {
    const seen: RunEnv[] = [];
    const kinds: Array<[unknown, HandlerKind]> = [];
    const t = fake({
      prepare: async (env) => void seen.push(env),
      handlerPattern: (pattern, kind) => (kinds.push([pattern, kind]), { pattern }),
    });
    expect(await runScenario(t, byId('ev.no-handler'), up)).toMatchObject({ outcome: 'pass' });
    expect(await runScenario(t, byId('rr.no-handler'), up)).toMatchObject({ outcome: 'pass' });
    const [events, messages] = seen;
    expect(events.patterns).toEqual({ messages: [], events: [`${events.ns}.known`, `${events.ns}.unknown`] });
    expect(messages.patterns).toEqual({ messages: [`${messages.ns}.sum`, `${messages.ns}.missing`], events: [] });
    expect(kinds).toEqual([
      [`${events.ns}.known`, 'event'],
      [`${messages.ns}.sum`, 'message'],
    ]);
  });

  it('a scenario cannot use a pattern it does not declare', async () => {
    const r = await runScenario(
      fake(),
      scenario(async (rig) => void rig.p('undeclared')),
      up,
    );
    expect(r.error).toMatch(/uses pattern "undeclared" without declaring it/);
  });

  it('reply maps a transport’s reply envelope; without it the failure shows what arrived', async () => {
    const enveloped = fake({ client: (env) => new EnvelopeClient({ host: '127.0.0.1', port: env.port }) });
    const without = await runScenario(enveloped, byId('rr.basic'), up);
    expect(without.outcome).toBe('fail');
    expect(without.error).toMatch(/data: 6/);
    expect(await runScenario({ ...enveloped, reply: (r: any) => r.data }, byId('rr.basic'), up)).toMatchObject({ outcome: 'pass', error: null });
  });

  it('hostedClient: a client that connects in onApplicationBootstrap works when the suite hosts it in a Nest app', async () => {
    const plain = fake({ client: (env) => new BootstrapClient({ host: '127.0.0.1', port: env.port }) });
    expect((await runScenario(plain, byId('rr.basic'), up)).error).toMatch(/not started by a Nest app/);
    const hosted = fake({
      client: undefined,
      hostedClient: (env, codecs) => ({ imports: [bootstrapClientModule(env.port, codecs)], token: BOOTSTRAP_CLIENT }),
    });
    for (const id of ['rr.basic', 'life.reconnect', 'ser.custom'])
      expect(await runScenario({ ...hosted, capabilities: ['requestResponse', 'reconnect'] }, byId(id), up)).toMatchObject({ outcome: 'pass', error: null });
  });

  it('ser.custom wraps the codecs the transport itself uses by default, so a descriptor needs none', async () => {
    const tagged = fake({
      server: (env, codecs) => ({ strategy: new TaggedServer({ host: '127.0.0.1', port: env.port, ...codecs }) }),
      client: (env, codecs) => new TaggedClient({ host: '127.0.0.1', port: env.port, ...codecs }),
    });
    expect(await runScenario(tagged, byId('rr.basic'), up)).toMatchObject({ outcome: 'pass' });
    expect(await runScenario(tagged, byId('ser.custom'), up)).toMatchObject({ outcome: 'pass', error: null });
  });

  it('an unhandled error while a server closes is a leak of that close(): reported, and a failure only with failOnLeaks', async () => {
    const leaky = fake({ server: (env) => ({ strategy: new LeakyServer({ host: '127.0.0.1', port: env.port }) }) });
    const r = await runScenario(leaky, byId('rr.basic'), up);
    expect(r).toMatchObject({
      outcome: 'pass',
      leaks: [expect.stringMatching(/^leaked while closing \(unhandled, raised while server #1 \(LeakyServer\) closed\)$/)],
    });
    expect(await runScenario(leaky, byId('rr.basic'), up, { failOnLeaks: true })).toMatchObject({ outcome: 'fail', error: expect.stringMatching(/^leaked/) });
  });

  it('an unhandled error while the scenario runs fails it, whatever the transport', async () => {
    const r = await runScenario(
      fake(),
      scenario(async () => {
        void Promise.reject(new Error('stray'));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }),
      up,
    );
    expect(r).toMatchObject({ outcome: 'fail', error: 'unhandled error while the scenario ran: stray' });
  });

  it('process.exit() during a scenario fails it instead of ending the run', async () => {
    const r = await runScenario(
      fake(),
      scenario(async () => {
        process.exit(7);
      }),
      up,
    );
    expect(r).toMatchObject({ outcome: 'fail', error: expect.stringMatching(/^process\.exit\(7\) was called during the scenario/) });
  });

  it('a close() that throws fails the scenario, naming which one', async () => {
    const t = fake({ client: (env) => new ThrowingClient({ host: '127.0.0.1', port: env.port }) });
    expect(await runScenario(t, byId('rr.basic'), up)).toMatchObject({
      outcome: 'fail',
      error: 'cleanup failed: client #1 (ThrowingClient) close() threw: close refused',
    });
  });
});

describe('request', () => {
  const client = (source: Observable<unknown>) => ({ send: () => source }) as any;

  it('says what arrived when the reply never completes', async () => {
    await expect(request(client(new Observable((s) => s.next(undefined))), 'p', 1, 50)).rejects.toThrow(
      'timed out after 50 ms: reply to "p" — received next(undefined), no completion',
    );
    await expect(request(client(new Observable(() => {})), 'p', 1, 50, 'the warm-up request')).rejects.toThrow('the warm-up request — nothing arrived');
  });

  it('says when a reply completed without a value, and what a failure was', async () => {
    await expect(request(client(new Observable((s) => s.complete())), 'p', 1, 50)).rejects.toThrow('reply to "p": it completed without a value');
    await expect(request(client(new Observable((s) => s.error({ status: 'error', message: 'nope' }))), 'p', 1, 50)).rejects.toThrow(
      'reply to "p" failed: {"status":"error","message":"nope"}',
    );
  });
});
