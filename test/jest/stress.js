#!/usr/bin/env node
// npm run test:stress -- [rounds] [jest arguments…]
//
// Runs the whole suite (or the files the jest arguments select) `rounds` times (default 3) with a
// CPU burner on every core, and reports each failure with its file and test name, how long each
// round took, and how long jest took to exit after its last test. Writes reports/stress.json.
// CI=true unless set otherwise (backends the machine offers must not be skipped).
//
//   STRESS_BURNERS        busy threads (default: one per core; 0 for none)
//   STRESS_ROUND_MINUTES  a round still running after this long is killed and reported as hung (default 30)
//   TEST_TIME_SCALE       passed on to jest as given (default 1: the suite must pass with every core busy as written)
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const rounds = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : 3;
const jestArgs = args;
const burners = Number(process.env.STRESS_BURNERS ?? availableParallelism());
const roundLimitMs = Number(process.env.STRESS_ROUND_MINUTES ?? 30) * 60_000;
const outDir = path.join(root, 'reports', 'stress');

const rel = (file) => path.relative(root, file);
const firstLines = (text, n = 3) =>
  String(text ?? '')
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, n)
    .join(' | ');

function startBurner() {
  if (!burners) return undefined;
  const child = spawn(process.execPath, [path.join(root, 'test/jest/burn.js'), String(burners)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = () => child.kill('SIGKILL');
  process.on('exit', stop);
  return { stop };
}

/** Failures of one jest --json report: one entry per failed test, one per file that failed outside its tests. */
function failuresOf(report) {
  const failures = [];
  for (const file of report.testResults ?? []) {
    const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failed) {
      failures.push({ file: rel(file.name), test: a.fullName, message: firstLines(a.failureMessages?.join('\n')) });
    }
    if (file.status === 'failed' && (file.testExecError || failed.length === 0)) {
      const message = file.testExecError?.message || file.testExecError?.stack || file.message;
      failures.push({ file: rel(file.name), test: '(the file itself: outside any test)', message: firstLines(message, 6) });
    }
  }
  return failures;
}

function runRound(n) {
  const outputFile = path.join(outDir, `round-${n}.json`);
  const logFile = path.join(outDir, `round-${n}.log`);
  rmSync(outputFile, { force: true });
  const log = createWriteStream(logFile);
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--experimental-vm-modules',
      '--disable-warning=ExperimentalWarning',
      path.join(root, 'node_modules/jest/bin/jest.js'),
      '--json',
      `--outputFile=${outputFile}`,
      ...jestArgs,
    ],
    { cwd: root, env: { ...process.env, CI: process.env.CI ?? 'true' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let buffered = '';
  const onOutput = (chunk) => {
    log.write(chunk);
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) if (/^FAIL /.test(line)) process.stdout.write(`  round ${n}: ${line}\n`);
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  let hung = false;
  const limit = setTimeout(() => {
    hung = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }, roundLimitMs);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      const ended = Date.now();
      log.end();
      let report;
      try {
        report = JSON.parse(readFileSync(outputFile, 'utf8'));
      } catch {}
      const failures = report ? failuresOf(report) : [];
      const lastTestEnd = report ? Math.max(...report.testResults.map((r) => r.endTime ?? 0)) : undefined;
      if (hung) failures.push({ file: '(jest)', test: '(the run)', message: `still running after ${roundLimitMs / 60_000} min: killed (see ${rel(logFile)})` });
      else if (!report) failures.push({ file: '(jest)', test: '(the run)', message: `no report (exit ${signal ?? code}); see ${rel(logFile)}` });
      else if (code !== 0 && failures.length === 0) {
        failures.push({ file: '(jest)', test: '(the run)', message: `exit code ${code} with no failed test; see ${rel(logFile)}` });
      }
      resolve({
        round: n,
        exitCode: code,
        signal,
        wallSeconds: Math.round((ended - started) / 100) / 10,
        exitLagSeconds: lastTestEnd ? Math.round((ended - lastTestEnd) / 100) / 10 : null,
        passed: report?.numPassedTests ?? 0,
        failed: report?.numFailedTests ?? 0,
        skipped: report?.numPendingTests ?? 0,
        failedFiles: report?.numFailedTestSuites ?? 0,
        failures,
        log: rel(logFile),
      });
    });
  });
}

mkdirSync(outDir, { recursive: true });
const burner = startBurner();
console.log(
  `[stress] ${rounds} round(s) of jest ${jestArgs.join(' ') || '(every test)'} with ${burners} busy thread(s) on ${availableParallelism()} core(s), CI=${process.env.CI ?? 'true'}, TEST_TIME_SCALE=${process.env.TEST_TIME_SCALE || 1}`,
);
const results = [];
for (let n = 1; n <= rounds; n++) {
  const r = await runRound(n);
  results.push(r);
  console.log(
    `[stress] round ${n}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped, ${r.failedFiles} file(s) failed; ` +
      `${r.wallSeconds} s; exited ${r.exitLagSeconds ?? '?'} s after its last test (exit ${r.signal ?? r.exitCode})`,
  );
  for (const f of r.failures) console.log(`  ✕ ${f.file} › ${f.test}\n      ${f.message}`);
}
burner?.stop();

const byTest = new Map();
for (const r of results) {
  for (const f of r.failures) {
    const key = `${f.file} › ${f.test}`;
    const entry = byTest.get(key) ?? { file: f.file, test: f.test, rounds: [], message: f.message };
    entry.rounds.push(r.round);
    byTest.set(key, entry);
  }
}
const summary = { generatedAt: new Date().toISOString(), rounds, burners, jestArgs, results, flaky: [...byTest.values()] };
writeFileSync(path.join(root, 'reports', 'stress.json'), `${JSON.stringify(summary, null, 2)}\n`);
const green = results.filter((r) => r.failures.length === 0).length;
console.log(`\n[stress] ${green}/${rounds} round(s) green; reports/stress.json`);
for (const f of byTest.values()) console.log(`  ${f.rounds.length}/${rounds}  ${f.file} › ${f.test}\n        ${f.message}`);
process.exit(green === rounds ? 0 : 1);
