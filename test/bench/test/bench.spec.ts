import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { scaled } from '@nest-transports/backends';

// The harness forks its server and client scripts from dist/ (built by `tsc -b` before jest).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = path.join(ROOT, 'test', 'bench', 'dist', 'cli.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: scaled(150_000) }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run bench -- --quick (ws, nest-tcp, raw-ws)', () => {
  it('writes reports/bench.json in the DESIGN.md schema and prints the table', async () => {
    const out = path.join(dir, 'bench.json');
    const { code, stdout, stderr } = await runBench(['--quick', '--targets', 'raw-ws,nest-tcp,ws', '--out', out]);
    expect({ code, stderr: code ? stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/\| name +\| kind/);
    expect(stderr).toMatch(/ws · request-response ×100: round 1\/1/); // progress

    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(Number.isNaN(Date.parse(report.generatedAt))).toBe(false);
    expect(report.node).toBe(process.version);
    expect(report.cpus).toBe(os.cpus().length);
    expect(report.results).toHaveLength(9);
    for (const row of report.results) {
      expect(row).toEqual(
        expect.objectContaining({
          name: expect.stringMatching(/^(ws|nest-tcp|raw-ws)$/),
          kind: expect.stringMatching(/^(transport|baseline|peer)$/),
          workload: expect.stringMatching(/^(request-response|events)$/),
          inFlight: expect.any(Number),
          messages: expect.any(Number),
          throughputPerSec: expect.any(Number),
          p50Ms: expect.any(Number),
          p99Ms: expect.any(Number),
          rssMb: expect.any(Number),
        }),
      );
      expect(row.messages).toBeGreaterThan(0);
      expect(row.throughputPerSec).toBeGreaterThan(0);
      expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms);
      expect(row.rssMb).toBeGreaterThan(10);
    }
    const cells = report.results.map((r: { name: string; workload: string; inFlight: number }) => `${r.name}/${r.workload}/${r.inFlight}`);
    expect(cells).toEqual(
      expect.arrayContaining(['ws/request-response/1', 'ws/request-response/100', 'ws/events/100', 'nest-tcp/request-response/100', 'raw-ws/events/100']),
    );
    const ws100 = report.results.find(
      (r: { name: string; inFlight: number; workload: string }) => r.name === 'ws' && r.inFlight === 100 && r.workload === 'request-response',
    );
    expect(ws100).toEqual(expect.objectContaining({ kind: 'transport', baseline: 'nest-tcp', ratio: expect.any(Number) }));
  }, 160_000);
});

describe('npm run bench -- --targets ws-no-otel,ws+otel-api,ws+otel-sdk (what tracing costs)', () => {
  it('runs the three rows, the API hidden from the first and present in the others, with the zero-cost target', async () => {
    const out = path.join(dir, 'otel.json');
    const { code, stderr } = await runBench(['--quick', '--targets', 'ws-no-otel,ws+otel-api,ws+otel-sdk', '--workloads', 'rr1', '--out', out]);
    expect({ code, stderr: code ? stderr : '' }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(readFileSync(out, 'utf8'));
    // A row whose process could (or could not) resolve @opentelemetry/api against its mode is skipped with the reason.
    expect(report.skipped).toEqual([]);
    expect(report.results.map((r: { name: string; baseline?: string }) => [r.name, r.baseline])).toEqual([
      ['ws-no-otel', undefined],
      ['ws+otel-api', 'ws-no-otel'],
      ['ws+otel-sdk', 'ws-no-otel'],
    ]);
    expect(report.targets).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          target: expect.stringContaining('ws+otel-api ≥ 0.95× ws-no-otel request-response at 1 in flight'),
          detail: expect.stringMatching(/^\d/),
        }),
      ]),
    );
  }, 160_000);
});
