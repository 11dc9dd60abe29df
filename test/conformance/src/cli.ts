#!/usr/bin/env node
import 'reflect-metadata';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CAPABILITIES, type TransportDescriptor } from './descriptor.js';
import { descriptors as builtIn } from './descriptors/index.js';
import { stopAllBackends } from './backend.js';
import { buildReport, claimedFailures, markdownReport, textMatrix } from './report.js';
import { runTransport, type TransportReport } from './runner.js';
import { scenarios } from './scenarios/index.js';

// Google client libraries must not probe the cloud metadata server: the suite talks to loopback only.
process.env.METADATA_SERVER_DETECTION ??= 'none';

const USAGE = `usage: nest-conformance [transport-name | ./descriptor.js ...] [--only=scenario-prefix] [--probe]

With no argument, runs every descriptor of the project. A path loads a descriptor module
(its default export, or every exported descriptor). Writes reports/conformance.json and .md.
--probe runs every scenario as if every capability were claimed: to find out what a transport does.`;

function isDescriptor(value: unknown): value is TransportDescriptor {
  const d = value as TransportDescriptor;
  return !!d && typeof d.name === 'string' && typeof d.server === 'function' && typeof d.client === 'function';
}

async function loadModule(path: string): Promise<TransportDescriptor[]> {
  const mod = await import(pathToFileURL(resolvePath(path)).href);
  if (isDescriptor(mod.default)) return [mod.default];
  const found = Object.values(mod).filter(isDescriptor);
  if (!found.length) throw new Error(`${path} exports no transport descriptor`);
  return found;
}

async function select(args: string[]): Promise<TransportDescriptor[]> {
  if (!args.length) return builtIn;
  const chosen: TransportDescriptor[] = [];
  for (const arg of args) {
    if (/[\\/]|\.[cm]?js$/.test(arg)) chosen.push(...(await loadModule(arg)));
    else {
      const d = builtIn.find((x) => x.name === arg);
      if (!d) throw new Error(`unknown transport "${arg}" (known: ${builtIn.map((x) => x.name).join(', ')})`);
      chosen.push(d);
    }
  }
  return chosen;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) return (console.log(USAGE), 0);
  const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  let chosen = await select(argv.filter((a) => !a.startsWith('--')));
  if (argv.includes('--probe')) chosen = chosen.map((t) => ({ ...t, capabilities: [...CAPABILITIES] }));
  const catalogue = only ? scenarios.filter((s) => s.id.startsWith(only)) : scenarios;
  const started = Date.now();
  const reports: TransportReport[] = [];

  for (const [ti, t] of chosen.entries()) {
    const head = `[${ti + 1}/${chosen.length}] ${t.name}`;
    process.stdout.write(`${head}: resolving backend…\n`);
    const report = await runTransport(t, catalogue, (r, i, n) => {
      const detail = r.outcome === 'fail' ? ` — ${r.error}` : '';
      if (r.outcome !== 'n/a') process.stdout.write(`${head} ${i}/${n} ${r.scenario}: ${r.outcome} (${r.ms} ms)${detail}\n`);
    });
    if (!report.available) process.stdout.write(`${head}: backend unavailable — ${report.reason}\n`);
    reports.push(report);
  }

  await stopAllBackends();
  const report = buildReport(reports);
  await mkdir('reports', { recursive: true });
  await writeFile('reports/conformance.json', `${JSON.stringify(report, null, 2)}\n`);
  await writeFile('reports/conformance.md', `${markdownReport(report)}\n`);

  console.log(`\n${textMatrix(report)}\n`);
  for (const t of reports.filter((r) => !r.available)) console.log(`${t.name}: skipped — ${t.reason}`);
  const failures = claimedFailures(report);
  for (const f of failures) console.log(`FAIL ${f.transport} ${f.scenario}: ${f.error}`);
  console.log(`\n${failures.length} failed; wrote reports/conformance.json and reports/conformance.md in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return failures.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
