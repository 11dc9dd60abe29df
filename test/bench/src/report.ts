import { TARGETS } from './registry.js';
import { median, medianInterval, round } from './stats.js';
import type { ResultRow, SkippedRow } from './types.js';

export interface TargetCheck {
  target: string;
  /** true met, false missed, null not measured or noise (`noise` says which). */
  met: boolean | null;
  noise?: boolean;
  detail: string;
}

/** A figure whose 95% interval is wider than this (relative to its median) is flagged noise in the table. */
export const NOISE_SPREAD = 0.2;

type Figures = { throughputPerSec: number; serverCpuUs?: number; sendPerSec?: number };

const sameCell = (a: ResultRow, b: ResultRow) => a.workload === b.workload && a.inFlight === b.inFlight;
const familyOf = (name: string) => TARGETS.find((t) => t.name === name)?.family;

function find(rows: ResultRow[], name: string, workload: ResultRow['workload'], inFlight?: number): ResultRow | undefined {
  return rows.find((r) => r.name === name && r.workload === workload && (inFlight === undefined || r.inFlight === inFlight));
}

/** The median's 95% interval relative to the median (0 with fewer than two values). */
const spreadOf = (values: number[]) => {
  const mid = median(values);
  if (values.length < 2 || mid <= 0) return 0;
  const { lo, hi } = medianInterval(values);
  return (hi - lo) / mid;
};

interface Comparison {
  ratio: number;
  /** 95% interval of the ratio: of the median per-round ratio when interleaved, else from both rows' intervals. */
  lo: number;
  hi: number;
  rounds?: number[];
  spread: number;
  noise: boolean;
  interleaved: boolean;
}

/**
 * A ratio of two rows: the median of their per-round ratios when they ran interleaved (same
 * family, same number of rounds), else of their medians; with its 95% interval.
 */
export function compare(a: ResultRow, b: ResultRow, figure: (r: Figures) => number = (r) => r.throughputPerSec): Comparison {
  const interleaved = Boolean(familyOf(a.name) && familyOf(a.name) === familyOf(b.name) && a.perRound && a.perRound.length === b.perRound?.length);
  if (interleaved) {
    const rounds = a.perRound!.map((r, i) => round(figure(r) / figure(b.perRound![i]), 3));
    const ratio = median(rounds);
    const { lo, hi } = medianInterval(rounds);
    const spread = ratio > 0 ? (hi - lo) / ratio : 0;
    return { ratio, lo, hi, rounds, spread, noise: spread > NOISE_SPREAD, interleaved };
  }
  // Not run side by side: the ratio of the medians, bounded by both rows' own intervals.
  const ia = medianInterval(a.perRound?.map(figure) ?? [figure(a)]);
  const ib = medianInterval(b.perRound?.map(figure) ?? [figure(b)]);
  const ratio = figure(a) / figure(b);
  const lo = ib.hi > 0 ? ia.lo / ib.hi : 0;
  const hi = ib.lo > 0 ? ia.hi / ib.lo : Number.POSITIVE_INFINITY;
  const spread = ratio > 0 ? (hi - lo) / ratio : 0;
  return { ratio, lo, hi, spread, noise: spread > NOISE_SPREAD, interleaved };
}

/** Sets `baseline`, `ratio` (throughput ÷ the baseline's, same workload and in-flight count), `ratioRounds`, `ratioInterval`, `spread`, `noise`. */
export function addRatios(rows: ResultRow[]): void {
  for (const row of rows) {
    const baseline = TARGETS.find((t) => t.name === row.name)?.baseline;
    const base = baseline
      ? (rows.find((r) => r.name === baseline && sameCell(r, row)) ?? (row.workload === 'events' ? find(rows, baseline, 'events') : undefined))
      : undefined;
    if (!baseline || !base?.throughputPerSec) {
      const spread = spreadOf(row.perRound?.map((r) => r.throughputPerSec) ?? []);
      row.spread = round(spread, 2);
      if (spread > NOISE_SPREAD) row.noise = true;
      continue;
    }
    const c = compare(row, base);
    row.baseline = baseline;
    row.ratio = round(c.ratio, 2);
    if (c.rounds) row.ratioRounds = c.rounds;
    row.ratioInterval = [round(c.lo, 2), round(c.hi, 2)];
    row.spread = round(c.spread, 2);
    if (c.noise) row.noise = true;
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function ratioCell(r: ResultRow): string {
  if (r.ratio === undefined) return r.noise ? `(median ±${Math.round(((r.spread ?? 0) * 100) / 2)}%)` : '';
  const interval = r.ratioInterval ? ` (${r.ratioInterval[0].toFixed(2)}–${r.ratioInterval[1].toFixed(2)})` : '';
  return `${r.noise ? 'noise: ' : ''}${r.ratio.toFixed(2)}× ${r.baseline}${interval}`;
}

/** The table printed at the end of a run (Markdown: the README carries it as printed). */
export function formatTable(rows: ResultRow[], skipped: SkippedRow[]): string {
  const header = [
    'name',
    'kind',
    'workload',
    'in flight',
    'msg/s',
    'p50 ms',
    'p99 ms',
    'RSS srv/cli MB',
    'CPU µs/msg srv/cli',
    '× baseline (95% interval)',
    'note',
  ];
  const body = rows.map((r) => [
    r.name,
    r.kind,
    r.workload === 'events' ? 'events' : 'req-resp',
    String(r.inFlight),
    fmt(r.throughputPerSec) + (r.sendPerSec !== undefined ? ` (sent ${fmt(r.sendPerSec)})` : ''),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    `${Math.round(r.rssMb)}/${Math.round(r.clientRssMb ?? 0)}`,
    `${(r.serverCpuUs ?? 0).toFixed(1)}/${(r.clientCpuUs ?? 0).toFixed(1)}`,
    ratioCell(r),
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
  for (const s of skipped) out.push(`(not measured) ${s.name} [${s.kind}]: ${s.reason}`);
  return out.join('\n');
}

/** Latency per round of rows whose rounds disagree (a bimodal backend shows its modes here). */
export function formatRounds(rows: ResultRow[]): string {
  return rows
    .filter((r) => r.noise || TARGETS.find((t) => t.name === r.name)?.roundMs)
    .map((r) => {
      const rounds = (r.perRound ?? []).map((x) => `${fmt(x.throughputPerSec)}/s p50 ${x.p50Ms.toFixed(1)}`).join(', ');
      return `${r.name} ${r.workload === 'events' ? 'events' : `req-resp ×${r.inFlight}`}: ${rounds}`;
    })
    .join('\n');
}

/** The issue's targets, as ratios within this run (per-round ratios of interleaved rows). */
export function checkTargets(rows: ResultRow[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const add = (
    target: string,
    a: ResultRow | undefined,
    b: ResultRow | undefined,
    test: { min?: number; max?: number },
    figure?: Parameters<typeof compare>[2],
    extra = '',
    also = true,
  ) => {
    if (!a || !b || !(figure ? figure(b) : b.throughputPerSec)) return checks.push({ target, met: null, detail: 'not measured' });
    const c = compare(a, b, figure);
    const bound = test.min !== undefined ? `≥ ${test.min}×` : `≤ ${test.max}×`;
    // Decided only when the ratio's whole 95% interval is on one side of the bound.
    const missed = (test.min !== undefined && c.hi < test.min) || (test.max !== undefined && c.lo > test.max);
    const held = (test.min === undefined || c.lo >= test.min) && (test.max === undefined || c.hi <= test.max);
    const undecided = !missed && !held && also;
    const how = c.rounds ? `${c.rounds.length} interleaved rounds` : 'not interleaved';
    checks.push({
      target,
      met: undecided ? null : held && also,
      ...(undecided && { noise: true }),
      detail: `${c.ratio.toFixed(2)}× (needs ${bound}; 95% interval ${c.lo.toFixed(2)}–${c.hi.toFixed(2)}, ${how})${extra}${undecided ? ' — the interval straddles the bound: undecided, not a result' : ''}`,
    });
  };
  const rr = (name: string, inFlight: number) => find(rows, name, 'request-response', inFlight);
  const cpu = (r: { serverCpuUs?: number }) => r.serverCpuUs ?? 0;

  add('ws ≥ 1.1× nest-tcp request-response at 1 in flight', rr('ws', 1), rr('nest-tcp', 1), { min: 1.1 });
  add('ws ≥ 0.85× raw-ws request-response at 1 in flight', rr('ws', 1), rr('raw-ws', 1), { min: 0.85 });
  const ws100 = rr('ws', 100);
  const tcp100 = rr('nest-tcp', 100);
  add(
    'ws ≥ 1.5× nest-tcp request-response at 100 in flight, p99 no worse',
    ws100,
    tcp100,
    { min: 1.5 },
    undefined,
    ws100 && tcp100 ? `; p99 ${ws100.p99Ms} vs ${tcp100.p99Ms} ms` : '',
    ws100 && tcp100 ? ws100.p99Ms <= tcp100.p99Ms : true,
  );
  add('ws ≥ 0.8× raw-ws request-response at 100 in flight', ws100, rr('raw-ws', 100), { min: 0.8 });
  add('ws ≥ 0.8× raw-ws events', find(rows, 'ws', 'events'), find(rows, 'raw-ws', 'events'), { min: 0.8 });
  add("ws ≥ 0.8× raw-ws-batched request-response at 100 in flight (same write batching: Nest's own cost)", ws100, rr('raw-ws-batched', 100), { min: 0.8 });
  // Tracing: with @opentelemetry/api loaded and no SDK registered, nothing changes (issue 22's zero-cost claim).
  for (const inFlight of [1, 100])
    add(`ws+otel-api ≥ 0.95× ws-no-otel request-response at ${inFlight} in flight (API, no SDK)`, rr('ws+otel-api', inFlight), rr('ws-no-otel', inFlight), {
      min: 0.95,
    });
  add('ws+otel-api ≥ 0.95× ws-no-otel events (API, no SDK)', find(rows, 'ws+otel-api', 'events'), find(rows, 'ws-no-otel', 'events'), { min: 0.95 });
  add(
    'ws+otel-api server CPU per message ≤ 1.05× ws-no-otel, request-response at 100 in flight (API, no SDK)',
    rr('ws+otel-api', 100),
    rr('ws-no-otel', 100),
    { max: 1.05 },
    cpu,
  );
  for (const [name, raw, min] of [
    ['sqs', 'raw-sqs', 0.95],
    ['pubsub', 'raw-pubsub', 0.9],
  ] as const) {
    for (const inFlight of [1, 100]) add(`${name} ≥ ${min}× ${raw} request-response at ${inFlight} in flight`, rr(name, inFlight), rr(raw, inFlight), { min });
    add(`${name} ≥ ${min}× ${raw} events`, find(rows, name, 'events'), find(rows, raw, 'events'), { min });
  }
  for (const inFlight of [1, 100])
    add(
      `sqs server CPU per message ≤ 1.15× raw-sqs, request-response at ${inFlight} in flight`,
      rr('sqs', inFlight),
      rr('raw-sqs', inFlight),
      { max: 1.15 },
      cpu,
    );
  add('sqs server CPU per message ≤ 1.15× raw-sqs, events', find(rows, 'sqs', 'events'), find(rows, 'raw-sqs', 'events'), { max: 1.15 }, cpu);
  const sqsEvents = find(rows, 'sqs', 'events');
  const unbatched = find(rows, 'raw-sqs-unbatched', 'events');
  add(
    'sqs auto-batched emits ≥ 5× one SendMessage per event (emit rate)',
    sqsEvents,
    unbatched,
    { min: 5 },
    (r) => r.sendPerSec ?? 0,
    sqsEvents && unbatched ? `; end to end ${(sqsEvents.throughputPerSec / unbatched.throughputPerSec).toFixed(2)}×` : '',
  );
  return checks;
}

export function formatChecks(checks: TargetCheck[]): string {
  return checks.map((c) => `${c.met === null ? (c.noise ? 'NOISE' : '   –') : c.met ? '   OK' : ' MISS'}  ${c.target}: ${c.detail}`).join('\n');
}
