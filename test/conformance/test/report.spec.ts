import { describe, expect, it } from '@jest/globals';
import { buildReport, claimedFailures, markdownReport, reportBaseName, textMatrix } from '../src/report.js';
import { RULES, type TransportReport } from '../src/runner.js';

const versions = {
  suite: '@nest-transports/conformance@9.9.9',
  node: 'v20.20.0',
  nest: { common: '11.1.0', core: '11.1.0', microservices: '11.1.0' },
  platform: 'linux-x64',
};

const rows: TransportReport[] = [
  {
    name: 'a',
    kind: 'builtin',
    backend: 'x',
    available: true,
    reason: null,
    capabilities: ['requestResponse', 'events'],
    differences: { 'rr.basic': 'differs' },
    notes: ['set up like this'],
    errors: [],
    results: [
      { scenario: 'rr.basic', outcome: 'pass', ms: 1, error: null, leaks: ['Channel closed (unhandled, raised while server #1 (ServerRMQ) closed)'] },
      { scenario: 'ev.basic', outcome: 'fail', ms: 2, error: 'timed out after 5000 ms: reply to "x" — received next(undefined), no completion', leaks: [] },
    ],
  },
  {
    name: 'b',
    kind: 'custom',
    backend: 'y',
    available: false,
    reason: 'install ioredis to run this row: npm install --save-dev ioredis',
    capabilities: [],
    differences: {},
    notes: [],
    errors: ['cleanupRun() threw: nope'],
    results: [
      { scenario: 'rr.basic', outcome: 'skipped', ms: 0, error: 'down', leaks: [] },
      { scenario: 'ev.basic', outcome: 'n/a', ms: 0, error: 'not claimed: events', leaks: [] },
    ],
  },
];

describe('report', () => {
  const report = buildReport(rows, { now: new Date('2026-01-01T00:00:00Z'), versions });

  it('keeps the DESIGN.md schema and adds versions, claims and the rules', () => {
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({
      generatedAt: '2026-01-01T00:00:00.000Z',
      probe: false,
      suite: '@nest-transports/conformance@9.9.9',
      node: 'v20.20.0',
      nest: { common: '11.1.0', core: '11.1.0', microservices: '11.1.0' },
      rules: RULES,
      transports: [
        {
          name: 'a',
          kind: 'builtin',
          backend: 'x',
          available: true,
          reason: null,
          capabilities: ['requestResponse', 'events'],
          results: [{ scenario: 'rr.basic', outcome: 'pass', ms: 1, error: null }, expect.anything()],
        },
        expect.anything(),
      ],
    });
  });

  it('lists failures (row errors included) and renders the matrix with leaks marked', () => {
    expect(claimedFailures(report)).toEqual([
      { transport: 'a', scenario: 'ev.basic', error: expect.stringContaining('received next(undefined)') },
      { transport: 'b', scenario: '(run)', error: 'cleanupRun() threw: nope' },
    ]);
    expect(textMatrix(report)).toMatch(/ev\.basic\s+FAIL\s+n\/a/);
    expect(textMatrix(report)).toMatch(/rr\.basic\s+pass\*\s+skip/);
    expect(textMatrix(report)).toContain('@nestjs/microservices 11.1.0');
    const md = markdownReport(report);
    expect(md).toContain('| `rr.basic` | pass* | skip |');
    expect(md).toContain('- `rr.basic`: differs');
    expect(md).toContain('**unavailable**: install ioredis');
    expect(md).toContain('Claims: `requestResponse`, `events`');
    expect(md).toContain('Leaks:');
    expect(md).toContain('## Rules (the same for every row)');
    for (const rule of RULES) expect(md).toContain(rule);
    expect(md).not.toContain('PROBE');
  });

  it('a probe report says so everywhere and goes to another file', () => {
    const probe = buildReport(rows, { probe: true, versions });
    expect(probe.probe).toBe(true);
    expect(markdownReport(probe)).toMatch(/^# Conformance PROBE/);
    expect(textMatrix(probe)).toMatch(/^Conformance PROBE/);
    expect(reportBaseName(true)).toBe('conformance-probe');
    expect(reportBaseName(false)).toBe('conformance');
  });
});
