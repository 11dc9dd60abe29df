import 'reflect-metadata';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stopAllBackends } from './backend.js';
import { catalogueMarkdown } from './catalogue.js';
import { CAPABILITIES, type TransportDescriptor } from './descriptor.js';
import { builtInNames, loadBuiltIn } from './descriptors/index.js';
import { isDescriptorPath, loadDescriptorFile } from './load.js';
import { buildReport, claimedFailures, markdownReport, reportBaseName, textMatrix } from './report.js';
import { runTransport, skippedRow, type TransportReport } from './runner.js';
import { scenarios } from './scenarios/index.js';

// Google client libraries must not probe the cloud metadata server: the suite talks to loopback only.
process.env.METADATA_SERVER_DETECTION ??= 'none';

const FLAGS = ['--probe', '--fail-on-leaks', '--catalogue'];
const VALUED = ['--only=', '--out=', '--time-scale='];

class UsageError extends Error {}

type Row = { descriptor: TransportDescriptor } | { skipped: TransportReport };

async function select(args: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const arg of args.length ? args : builtInNames) {
    if (isDescriptorPath(arg)) {
      for (const descriptor of await loadDescriptorFile(arg)) rows.push({ descriptor });
      continue;
    }
    if (!builtInNames.includes(arg))
      throw new UsageError(`unknown transport "${arg}" (built-in rows: ${builtInNames.join(', ')}; or give a descriptor file's path)`);
    const loaded = await loadBuiltIn(arg);
    if (loaded.ok) rows.push({ descriptor: loaded.descriptor });
    else rows.push({ skipped: skippedRow(loaded.row, loaded.reason, []) });
  }
  return rows;
}

export async function run(argv: string[], usage: string): Promise<number> {
  const unknown = argv.filter((a) => a.startsWith('-') && !FLAGS.includes(a) && !VALUED.some((v) => a.startsWith(v)));
  if (unknown.length) {
    console.error(`unknown option ${unknown.join(', ')}\n\n${usage}`);
    return 2;
  }
  if (argv.includes('--catalogue')) {
    console.log(catalogueMarkdown());
    return 0;
  }
  const value = (flag: string) => argv.find((a) => a.startsWith(flag))?.slice(flag.length);
  const only = value('--only=')
    ?.split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const outDir = value('--out=') || 'reports';
  const probe = argv.includes('--probe');
  const failOnLeaks = argv.includes('--fail-on-leaks');
  const timeScale = Number(value('--time-scale=') ?? 1);
  if (!Number.isFinite(timeScale) || timeScale < 1) {
    console.error(`--time-scale=${value('--time-scale=')}: use a number of at least 1 (2 doubles every time limit)`);
    return 2;
  }
  const catalogue = only ? scenarios.filter((s) => only.some((prefix) => s.id.startsWith(prefix))) : scenarios;
  if (!catalogue.length) {
    console.error(`--only=${value('--only=')} matches no scenario (ids: ${scenarios.map((s) => s.id).join(', ')})`);
    return 2;
  }

  let rows: Row[];
  try {
    rows = await select(argv.filter((a) => !a.startsWith('-')));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }

  const started = Date.now();
  const reports: TransportReport[] = [];
  const base = join(outDir, reportBaseName(probe));
  const write = async () => {
    const report = buildReport(reports, { probe, failOnLeaks });
    await mkdir(outDir, { recursive: true });
    await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(`${base}.md`, `${markdownReport(report)}\n`);
    return report;
  };

  for (const [i, row] of rows.entries()) {
    if ('skipped' in row) {
      const skipped = { ...row.skipped, results: skippedRow(row.skipped, row.skipped.reason ?? 'skipped', catalogue).results };
      process.stdout.write(`[${i + 1}/${rows.length}] ${skipped.name}: skipped — ${skipped.reason}\n`);
      reports.push(skipped);
      await write();
      continue;
    }
    const t = row.descriptor;
    const head = `[${i + 1}/${rows.length}] ${t.name}`;
    const runAs = probe ? { ...t, capabilities: [...CAPABILITIES] } : t;
    process.stdout.write(`${head}: resolving backend…\n`);
    const report = await runTransport(
      runAs,
      catalogue,
      (r, k, n) => {
        const detail = r.outcome === 'fail' ? ` — ${r.error}` : r.leaks.length ? ` — leak: ${r.leaks.join('; ')}` : '';
        if (r.outcome !== 'n/a') process.stdout.write(`${head} ${k}/${n} ${r.scenario}: ${r.outcome} (${r.ms} ms)${detail}\n`);
      },
      { failOnLeaks, timeScale, claimed: t.capabilities },
    );
    if (!report.available) process.stdout.write(`${head}: backend unavailable — ${report.reason}\n`);
    for (const error of report.errors) process.stdout.write(`${head}: ${error}\n`);
    reports.push(report);
    await write();
  }

  await stopAllBackends();
  const report = await write();
  console.log(`\n${textMatrix(report)}\n`);
  for (const t of reports.filter((r) => !r.available)) console.log(`${t.name}: skipped — ${t.reason}`);
  const failures = claimedFailures(report);
  for (const f of failures) console.log(`FAIL ${f.transport} ${f.scenario}: ${f.error}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`\n${probe ? 'PROBE — ' : ''}${failures.length} failed; wrote ${base}.json and ${base}.md in ${seconds} s`);
  return failures.length && !probe ? 1 : 0;
}
