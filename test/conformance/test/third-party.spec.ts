// The suite as an outside author gets it: the README's "Test your own transport" lines, run as
// written in a copy of examples/third-party-transport outside the workspace, with the packed
// tarballs of @nest-transports/conformance and @nest-transports/backends in place of the registry
// name — first on Nest 12 (the example's own devDependencies), then on Nest 11.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ConformanceReport } from '../src/report.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'third-party-transport');
export const MARKER = '<!-- run by test/conformance/test/third-party.spec.ts -->';

/** The command lines of the README block that follows MARKER (comments after `#` dropped). */
export function readmeLines(readme: string): string[] {
  const at = readme.indexOf(MARKER);
  if (at < 0) throw new Error(`README.md has no ${MARKER}`);
  const block = readme.slice(at).match(/```bash\n([\s\S]*?)```/);
  if (!block) throw new Error('no ```bash block after the marker');
  return block[1]
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'));
}

interface Run {
  line: string;
  code: number;
  ms: number;
  output: string;
}

/** Runs a command line in `cwd` with a clean environment (no npm_* or jest variables from this run). */
function sh(line: string, cwd: string, timeoutMs = 300_000): Promise<Run> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('npm_') && !key.startsWith('JEST_') && key !== 'NODE_OPTIONS' && key !== 'INIT_CWD'),
  );
  const started = Date.now();
  return new Promise((resolve) => {
    execFile('bash', ['-c', line], { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ line, code, ms: Date.now() - started, output: `${stdout}${stderr}` });
    });
  });
}

const ok = (run: Run) =>
  expect({ line: run.line, code: run.code, tail: run.code ? run.output.slice(-3000) : '' }).toEqual({ line: run.line, code: 0, tail: '' });

const registryReachable = (await sh('npm ping --silent', ROOT, 30_000)).code === 0;
const describeIfRegistry = registryReachable || process.env.CI === 'true' ? describe : describe.skip;

describeIfRegistry('from the packed tarballs, outside the workspace: README "Test your own transport"', () => {
  const work = mkdtempSync(join(tmpdir(), 'nest-conformance-third-party-'));
  const project = join(work, 'nest-transport-memory');
  const packs = join(work, 'packs');
  const timings: Array<{ step: string; ms: number }> = [];
  const step = async (what: string, line: string, cwd = project) => {
    const run = await sh(line, cwd);
    timings.push({ step: what, ms: run.ms });
    return run;
  };
  let tarballs: string[] = [];
  const report = (name = 'conformance'): ConformanceReport => JSON.parse(readFileSync(join(project, 'reports', `${name}.json`), 'utf8'));
  const memoryRow = (r: ConformanceReport) => r.transports.find((t) => t.name === 'memory')!;

  beforeAll(async () => {
    mkdirSync(packs);
    const pack = await step(
      'npm pack (conformance, backends)',
      `npm pack -w test/backends -w test/conformance --pack-destination ${JSON.stringify(packs)}`,
      ROOT,
    );
    ok(pack);
    tarballs = readdirSync(packs).map((f) => join(packs, f));
    expect(tarballs.map((t) => t.replace(/.*\//, '')).sort()).toEqual(['nest-transports-backends-0.1.0.tgz', 'nest-transports-conformance-0.1.0.tgz']);
    // The author's project: the example's sources, as a repository of its own would hold them.
    cpSync(EXAMPLE, project, { recursive: true, filter: (src) => !/(\/node_modules|\/dist|\/reports|\.tsbuildinfo)$/.test(src) });
  }, 300_000);

  afterAll(() => {
    const total = timings.reduce((sum, t) => sum + t.ms, 0);
    mkdirSync(join(ROOT, 'reports'), { recursive: true });
    writeFileSync(
      join(ROOT, 'reports', 'third-party-example.json'),
      `${JSON.stringify({ generatedAt: new Date().toISOString(), totalMs: total, timings }, null, 2)}\n`,
    );
    if (!process.env.CONFORMANCE_KEEP_SCRATCH) rmSync(work, { recursive: true, force: true });
  });

  it("the transport's own project installs and builds (npm install, npm run build)", async () => {
    ok(await step('npm install (the example project)', 'npm install --no-audit --no-fund'));
    ok(await step('npm run build', 'npm run build'));
    expect(existsSync(join(project, 'dist', 'index.js'))).toBe(true);
  }, 600_000);

  it('runs the README lines as written: a matrix and reports on Nest 12, then on Nest 11, and the jest adapter', async () => {
    const lines = readmeLines(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(lines.some((l) => l.includes('@nestjs/microservices@11'))).toBe(true);
    let nest = 12;
    for (const line of lines) {
      const command = line.replace(
        /(npm install [^\n]*?)@nest-transports\/conformance\b/,
        (_, head) => `${head}${tarballs.map((t) => JSON.stringify(t)).join(' ')}`,
      );
      if (line.includes('@nestjs/microservices@11')) nest = 11;
      const probe = line.includes('--probe');
      const before = existsSync(join(project, 'reports', 'conformance.json')) ? report().generatedAt : null;
      const run = await step(line, command);
      ok(run);
      if (line.includes('nest-conformance')) {
        expect(run.output).toContain('Conformance');
        const written = report(probe ? 'conformance-probe' : 'conformance');
        expect(written.probe).toBe(probe);
        expect(written.nest.microservices?.split('.')[0]).toBe(String(nest));
        const memory = memoryRow(written);
        expect(memory.capabilities).toContain('requestResponse');
        if (probe) {
          expect(report().generatedAt).toBe(before); // a probe never overwrites the verdict
        } else {
          expect(memory.results.filter((r) => r.outcome === 'fail')).toEqual([]);
          expect(memory.results.filter((r) => r.outcome === 'pass').length).toBeGreaterThanOrEqual(30);
          expect(existsSync(join(project, 'reports', 'conformance.md'))).toBe(true);
        }
      }
      if (/^npx jest\b/.test(line)) expect(run.output).toMatch(/Tests:\s+\d+ skipped, \d+ passed, \d+ total/);
    }
    expect(nest).toBe(11);
  }, 900_000);

  it('the jest adapter in an ESM spec too, with a built-in descriptor imported from the package', async () => {
    mkdirSync(join(project, 'esm'));
    writeFileSync(
      join(project, 'esm', 'tcp.spec.mjs'),
      [
        "import { scenarios } from '@nest-transports/conformance';",
        "import { describeConformance } from '@nest-transports/conformance/jest';",
        "import { tcp } from '@nest-transports/conformance/descriptors/tcp';",
        '',
        "await describeConformance(tcp, { scenarios: scenarios.filter((s) => s.id.startsWith('rr.')) });",
        '',
      ].join('\n'),
    );
    const run = await step('jest, ESM spec', "NODE_OPTIONS=--experimental-vm-modules npx jest --testMatch '<rootDir>/esm/*.spec.mjs'");
    ok(run);
    expect(run.output).toMatch(/Tests:\s+1 skipped, 13 passed, 14 total/);
  }, 300_000);

  it('with nothing optional installed: --help works, a built-in row without its library is skipped with the install line', async () => {
    const help = await step('npx nest-conformance --help', 'npx nest-conformance --help');
    ok(help);
    expect(help.output).toContain('usage: nest-conformance');
    const redis = await step(
      'a built-in row without its client library',
      'npx nest-conformance ./memory.conformance.js redis kafka --only=rr.basic --out=reports/optional',
    );
    ok(redis);
    expect(redis.output).toContain('redis: skipped — install ioredis to run this row: npm install --save-dev ioredis');
    expect(redis.output).toContain('kafka: skipped — install kafkajs');
    const written: ConformanceReport = JSON.parse(readFileSync(join(project, 'reports', 'optional', 'conformance.json'), 'utf8'));
    expect(written.transports.map((t) => [t.name, t.results.map((r) => r.outcome)])).toEqual([
      ['memory', ['pass']],
      ['redis', ['skipped']],
      ['kafka', ['skipped']],
    ]);
  }, 300_000);
});
