import { describe, expect, it, afterEach } from '@jest/globals';
import { ClientTCP, Transport } from '@nestjs/microservices';
import { defineTransport, type TransportDescriptor } from '../src/descriptor.js';
import { notApplicableReason, runScenario, unavailableOutcome } from '../src/runner.js';
import { buildReport, claimedFailures, markdownReport, textMatrix } from '../src/report.js';
import type { Scenario } from '../src/scenario.js';
import { scenarios } from '../src/scenarios/index.js';

const fake = (over: Partial<TransportDescriptor> = {}): TransportDescriptor =>
  defineTransport({
    name: 'fake',
    kind: 'custom',
    backend: 'none',
    capabilities: ['requestResponse'],
    resolve: async () => ({ available: true, description: 'none' }),
    server: (env) => ({ transport: Transport.TCP, options: { host: '127.0.0.1', port: env.port } }),
    client: (env) => new ClientTCP({ host: '127.0.0.1', port: env.port }),
    ...over,
  });

const scenario = (run: Scenario['run'], over: Partial<Scenario> = {}): Scenario => ({ id: 'unit.x', title: 'x', needs: ['requestResponse'], run, ...over });
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

  it('a scenario needing an unclaimed capability is n/a with the reason, and never runs', async () => {
    let ran = false;
    const s = scenario(async () => void (ran = true), { needs: ['events'] });
    expect(notApplicableReason(fake(), s)).toBe('not claimed: events');
    const r = await runScenario(fake(), s, up);
    expect(r).toMatchObject({ outcome: 'n/a', error: 'not claimed: events' });
    expect(ran).toBe(false);
  });

  it('a descriptor can declare a claimed scenario not applicable, with its reason', () => {
    expect(
      notApplicableReason(
        fake({ notApplicable: { 'unit.x': 'no such thing here' } }),
        scenario(async () => {}),
      ),
    ).toBe('no such thing here');
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

  it('a hung scenario fails with a timeout instead of hanging the run', async () => {
    const r = await runScenario(
      fake(),
      scenario(() => new Promise(() => {}), { timeoutMs: 100 }),
      up,
    );
    expect(r.outcome).toBe('fail');
    expect(r.error).toMatch(/timed out after 100 ms/);
  });

  it('a failing assertion fails and servers and clients are closed', async () => {
    const failing = await runScenario(
      fake(),
      scenario(async (rig) => {
        await rig.server([]);
        rig.client();
        throw new Error('boom');
      }),
      up,
    );
    expect(failing).toMatchObject({ outcome: 'fail', error: 'boom' });
    // Stray rejections are caught by the CLI runner only: under jest, jest fails the test itself.
  });
});

describe('report', () => {
  const report = buildReport(
    [
      {
        name: 'a',
        kind: 'builtin',
        backend: 'x',
        available: true,
        reason: null,
        differences: { 'rr.basic': 'differs' },
        results: [
          { scenario: 'rr.basic', outcome: 'pass', ms: 1, error: null },
          { scenario: 'ev.basic', outcome: 'fail', ms: 2, error: 'nope' },
        ],
      },
      {
        name: 'b',
        kind: 'custom',
        backend: 'y',
        available: false,
        reason: 'down',
        differences: {},
        results: [
          { scenario: 'rr.basic', outcome: 'skipped', ms: 0, error: 'down' },
          { scenario: 'ev.basic', outcome: 'n/a', ms: 0, error: 'not claimed: events' },
        ],
      },
    ],
    new Date('2026-01-01T00:00:00Z'),
  );

  it('keeps the DESIGN.md schema', () => {
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({
      generatedAt: '2026-01-01T00:00:00.000Z',
      transports: [
        {
          name: 'a',
          kind: 'builtin',
          backend: 'x',
          available: true,
          reason: null,
          results: [{ scenario: 'rr.basic', outcome: 'pass', ms: 1, error: null }, expect.anything()],
        },
        expect.anything(),
      ],
    });
  });

  it('lists claimed failures and renders the matrix', () => {
    expect(claimedFailures(report)).toEqual([{ transport: 'a', scenario: 'ev.basic', outcome: 'fail', ms: 2, error: 'nope' }]);
    expect(textMatrix(report)).toMatch(/ev\.basic\s+FAIL\s+n\/a/);
    const md = markdownReport(report);
    expect(md).toContain('| `rr.basic` | pass | skip |');
    expect(md).toContain('- `rr.basic`: differs');
    expect(md).toContain('**unavailable**: down');
  });
});
