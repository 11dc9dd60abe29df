import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaled } from '@nest-transports/backends';

// The leak check and the exit watchdog, proven able to fail: a child jest runs fixtures that
// leak on purpose (test/jest/fixtures) with the repository's environment and global teardown.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface ChildRun {
  code: number | null;
  output: string;
  report: any;
  exitedAfterMs: number;
}

function runFixtures(env: Record<string, string>, fixtures: string[], jestArgs: string[] = []): Promise<ChildRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'leak-check-'));
  const outputFile = path.join(dir, 'report.json');
  const jest = path.join(root, 'node_modules/jest/bin/jest.js');
  const args = ['--experimental-vm-modules', '--disable-warning=ExperimentalWarning', jest, '--config', 'test/jest/fixtures/jest.config.js'];
  const child = spawn(process.execPath, [...args, '--runInBand', '--json', `--outputFile=${outputFile}`, ...jestArgs, ...fixtures], {
    cwd: root,
    // The fixtures' own bounds as written (their messages name them); this file's bounds scale.
    env: { ...process.env, CI: 'false', TEST_TIME_SCALE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      let report: any;
      try {
        report = JSON.parse(readFileSync(outputFile, 'utf8'));
      } catch {
        report = undefined;
      }
      rmSync(dir, { recursive: true, force: true });
      const lastEnd = report ? Math.max(...report.testResults.map((r: any) => r.endTime)) : Date.now();
      resolve({ code, output, report, exitedAfterMs: Date.now() - lastEnd });
    });
  });
}

const fileResult = (run: ChildRun, fixture: string) => run.report.testResults.find((r: any) => r.name.endsWith(`/${fixture}`));

describe('leak check (a child jest over fixtures that leak on purpose)', () => {
  let run: ChildRun;

  it('fails each file that leaves something alive, naming it, and only that file', async () => {
    run = await runFixtures({ LEAK_CHECK_GRACE_MS: '500' }, ['test/jest/fixtures/']);
    expect(run.report).toBeDefined();
    expect(run.code).toBe(1);

    const socket = fileResult(run, 'socket.fixture.ts');
    expect(socket.status).toBe('failed');
    expect(socket.assertionResults.map((a: any) => a.status)).toEqual(['passed']);
    expect(socket.message).toMatch(/Server listening on 127\.0\.0\.1:\d+, first seen in test "leaves a server and a connection open"/);
    expect(socket.message).toMatch(/Socket 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+/);

    const timer = fileResult(run, 'timer.fixture.ts');
    expect(timer.status).toBe('failed');
    expect(timer.message).toMatch(
      /setInterval\(pollForever, 60000 ms\) \(unref\) created in test "leaves an unref-ed interval running" at\s+at .*timer\.fixture\.ts/,
    );

    const child = fileResult(run, 'child.fixture.ts');
    expect(child.status).toBe('failed');
    expect(child.message).toMatch(/ChildProcess pid \d+: sleep 60/);

    const clean = fileResult(run, 'clean.fixture.ts');
    expect(clean.status).toBe('passed');
    expect(clean.message).toBe('');
  }, 120_000);

  it('closes what a file left behind, so that the run still exits by itself', () => {
    expect(run.output).not.toMatch(/FAILED TO EXIT/);
    expect(run.exitedAfterMs).toBeLessThan(scaled(20_000));
  });
});

describe('exit watchdog', () => {
  it('reports what keeps jest alive after the run and exits with a failure', async () => {
    const run = await runFixtures({ FIXTURE_HANG: '1', JEST_EXIT_WATCHDOG_MS: '2000' }, ['test/jest/fixtures/clean.fixture.ts']);
    expect(run.report.numFailedTests).toBe(0);
    expect(run.output).toMatch(
      /FAILED TO EXIT: still alive 2000 ms after the global teardown began. What kept it alive:\n {2}- Server listening on 127\.0\.0\.1:\d+/,
    );
    expect(run.code).toBe(1);
    expect(run.exitedAfterMs).toBeLessThan(scaled(20_000));
  }, 120_000);

  it('catches what a test file left open when the per-file check is off, naming the server and the connection', async () => {
    const run = await runFixtures({ LEAK_CHECK: 'off', JEST_EXIT_WATCHDOG_MS: '2000' }, ['test/jest/fixtures/socket.fixture.ts']);
    expect(run.report.numFailedTests).toBe(0);
    expect(run.output).toMatch(/FAILED TO EXIT: still alive 2000 ms after the global teardown began/);
    expect(run.output).toMatch(/- Server listening on 127\.0\.0\.1:\d+/);
    expect(run.output).toMatch(/- Socket 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+/);
    expect(run.code).toBe(1);
    expect(run.exitedAfterMs).toBeLessThan(scaled(20_000));
  }, 120_000);
});

describe('load watchdog', () => {
  it('ends a run whose file never finishes loading, naming the file', async () => {
    const started = Date.now();
    const run = await runFixtures({ LOAD_TIMEOUT_MS: '2000' }, [], ['--testMatch', '<rootDir>/test/jest/fixtures/loading/*.fixture.ts']);
    expect(run.output).toMatch(/hang\.fixture\.ts was still loading 2000 ms after it started/);
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(scaled(40_000));
  }, 120_000);
});

describe('TEST_TIME_SCALE', () => {
  const slow = ['--testMatch', '<rootDir>/test/jest/fixtures/time-scale/*.fixture.ts'];

  it('stretches the timeouts of tests and hooks', async () => {
    const run = await runFixtures({ TEST_TIME_SCALE: '5' }, [], slow);
    expect(run.report?.numPassedTests).toBe(1);
    expect(run.code).toBe(0);
  }, 120_000);

  it('leaves them as written at 1 (so the fixture can fail)', async () => {
    const run = await runFixtures({ TEST_TIME_SCALE: '1' }, [], slow);
    expect(run.report?.numFailedTests).toBe(1);
    expect(run.output).toMatch(/Exceeded timeout of 200 ms for a hook/);
  }, 120_000);
});
