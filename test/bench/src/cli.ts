#!/usr/bin/env node
/**
 * npm run bench [-- --quick] [--soak | --soak-only] [--targets ws,nest-tcp,raw-ws] [--out reports/bench.json]
 *
 * Runs every target of registry.ts whose backend is reachable (server and client in separate
 * processes), prints a table and the issue's targets, and writes reports/bench.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopAllBackends } from '@nest-transports/backends';
import { makePlan } from './plan.js';
import { TARGETS } from './registry.js';
import { addRatios, checkTargets, formatChecks, formatRounds, formatTable } from './report.js';
import { runFamily } from './runner.js';
import { runSoak, type SoakReport } from './soak.js';
import type { ResultRow, SkippedRow, TargetSpec } from './types.js';

interface Args {
  quick: boolean;
  soak: boolean;
  soakOnly: boolean;
  soakRequests: number;
  targets?: string[];
  /** rr1, rr100, events */
  workloads?: string[];
  out: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, soak: false, soakOnly: false, soakRequests: 1_000_000, out: 'reports/bench.json' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--quick') args.quick = true;
    else if (flag === '--soak') args.soak = true;
    else if (flag === '--soak-only') args.soak = args.soakOnly = true;
    else if (flag === '--soak-requests') args.soakRequests = Number(value());
    else if (flag === '--targets')
      args.targets = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (flag === '--workloads')
      args.workloads = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (flag === '--out') args.out = value();
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: npm run bench -- [--quick] [--soak | --soak-only] [--soak-requests N] [--targets a,b] [--workloads rr1,rr100,events] [--out FILE]');
      console.log(`targets: ${TARGETS.map((t) => t.name).join(', ')}`);
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]} (try --help)`);
  }
  if (args.targets) {
    const unknown = args.targets.filter((name) => !TARGETS.some((t) => t.name === name));
    if (unknown.length) throw new Error(`unknown targets: ${unknown.join(', ')}`);
  }
  return args;
}

/** Consecutive targets of one `family` run together (rounds interleaved); the others alone. */
function families(specs: TargetSpec[]): TargetSpec[][] {
  const out: TargetSpec[][] = [];
  for (const spec of specs) {
    const last = out.at(-1);
    if (spec.family && last?.[0].family === spec.family) last.push(spec);
    else out.push([spec]);
  }
  return out;
}

const started = Date.now();
const progress = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}\n`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.env.METADATA_SERVER_DETECTION = 'none';
  const plan = makePlan(args.quick, args.workloads);
  const specs = args.soakOnly ? [] : TARGETS.filter((t) => !args.targets || args.targets.includes(t.name));
  const rows: ResultRow[] = [];
  const skipped: SkippedRow[] = [];
  progress(
    `${args.quick ? 'quick' : 'full'} run: ${specs.length} targets, ${plan.rounds} round(s) of ≤ ${plan.roundMs} ms per workload after a warm-up, on ${os.cpus().length} CPUs, Node ${process.version}`,
  );
  let soak: SoakReport | undefined;
  try {
    for (const [i, family] of families(specs).entries()) {
      progress(
        `[${i + 1}/${families(specs).length}] ${family.map((spec) => `${spec.name} (${spec.kind})`).join(', ')}${family.length > 1 ? ', rounds interleaved' : ''}`,
      );
      const result = await runFamily(family, plan, progress);
      rows.push(...result.rows);
      skipped.push(...result.skipped);
    }
    if (args.soak) soak = await runSoak(args.soakRequests, progress);
  } finally {
    await stopAllBackends();
  }
  addRatios(rows);
  const checks = checkTargets(rows);
  const report = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    quick: args.quick,
    results: rows,
    skipped,
    targets: checks,
    ...(soak && { soak }),
  };
  const out = path.resolve(args.out);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  if (rows.length || skipped.length) {
    console.log(formatTable(rows, skipped));
    const perRound = formatRounds(rows);
    if (perRound) console.log(`\nRounds of noisy or bimodal rows (throughput, p50 ms):\n${perRound}`);
    console.log('\nTargets (ratios within this run; absolute figures vary with machine load):');
    console.log(formatChecks(checks));
  }
  if (soak) {
    console.log(
      `\nSoak: ${soak.requests.toLocaleString('en-US')} ws requests at ${soak.inFlight} in flight, ${soak.throughputPerSec.toLocaleString('en-US')}/s, ` +
        `server RSS settled ${soak.settledRssMb} MB → max after ${soak.maxRssAfterSettledMb} MB (${(soak.growth * 100).toFixed(1)}%): ${soak.withinTenPercent ? 'OK' : 'MISS'}`,
    );
  }
  console.log(`\nWrote ${path.relative(process.cwd(), out)} in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
