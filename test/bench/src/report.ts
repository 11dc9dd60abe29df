import { TARGETS } from './registry.js';
import type { ResultRow, SkippedRow } from './types.js';

export interface TargetCheck {
  target: string;
  met: boolean | null;
  detail: string;
}

const sameCell = (a: ResultRow, b: ResultRow) => a.workload === b.workload && a.inFlight === b.inFlight;

function find(rows: ResultRow[], name: string, workload: ResultRow['workload'], inFlight?: number): ResultRow | undefined {
  return rows.find((r) => r.name === name && r.workload === workload && (inFlight === undefined || r.inFlight === inFlight));
}

/** Sets `baseline` and `ratio` (throughput ÷ the baseline's, same workload and in-flight count). */
export function addRatios(rows: ResultRow[]): void {
  for (const row of rows) {
    const baseline = TARGETS.find((t) => t.name === row.name)?.baseline;
    if (!baseline) continue;
    const base = rows.find((r) => r.name === baseline && sameCell(r, row)) ?? (row.workload === 'events' ? find(rows, baseline, 'events') : undefined);
    if (!base?.throughputPerSec) continue;
    row.baseline = baseline;
    row.ratio = Math.round((row.throughputPerSec / base.throughputPerSec) * 100) / 100;
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The table printed at the end of a run. */
export function formatTable(rows: ResultRow[], skipped: SkippedRow[]): string {
  const header = ['name', 'kind', 'workload', 'in flight', 'msg/s', 'p50 ms', 'p99 ms', 'RSS srv/cli MB', 'CPU µs/msg srv/cli', '× baseline', 'note'];
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
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}× ${r.baseline}` : '',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
  for (const s of skipped) out.push(`(not measured) ${s.name} [${s.kind}]: ${s.reason}`);
  return out.join('\n');
}

/** The targets, as ratios within this run. */
export function checkTargets(rows: ResultRow[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const ratio = (a?: ResultRow, b?: ResultRow) => (a && b?.throughputPerSec ? a.throughputPerSec / b.throughputPerSec : undefined);
  const add = (target: string, value: number | undefined, min: number, extra = '', also = true) =>
    checks.push({
      target,
      met: value === undefined ? null : value >= min && also,
      detail: value === undefined ? 'not measured' : `${value.toFixed(2)}× (needs ≥ ${min}×)${extra}`,
    });

  const ws100 = find(rows, 'ws', 'request-response', 100);
  const tcp100 = find(rows, 'nest-tcp', 'request-response', 100);
  const p99ok = ws100 && tcp100 ? ws100.p99Ms <= tcp100.p99Ms : true;
  add(
    'ws ≥ 1.5× nest-tcp request-response at 100 in flight, p99 no worse',
    ratio(ws100, tcp100),
    1.5,
    ws100 && tcp100 ? `; p99 ${ws100.p99Ms} vs ${tcp100.p99Ms} ms` : '',
    p99ok,
  );
  for (const inFlight of [1, 100]) {
    add(
      `ws ≥ 0.8× raw-ws request-response at ${inFlight} in flight`,
      ratio(find(rows, 'ws', 'request-response', inFlight), find(rows, 'raw-ws', 'request-response', inFlight)),
      0.8,
    );
  }
  add('ws ≥ 0.8× raw-ws events', ratio(find(rows, 'ws', 'events'), find(rows, 'raw-ws', 'events')), 0.8);
  add(
    "ws ≥ 0.8× raw-ws-batched request-response at 100 in flight (same write batching: Nest's own cost)",
    ratio(find(rows, 'ws', 'request-response', 100), find(rows, 'raw-ws-batched', 'request-response', 100)),
    0.8,
  );
  for (const [name, raw] of [
    ['sqs', 'raw-sqs'],
    ['pubsub', 'raw-pubsub'],
  ]) {
    for (const inFlight of [1, 100]) {
      add(
        `${name} ≥ 0.9× ${raw} request-response at ${inFlight} in flight`,
        ratio(find(rows, name, 'request-response', inFlight), find(rows, raw, 'request-response', inFlight)),
        0.9,
      );
    }
    add(`${name} ≥ 0.9× ${raw} events`, ratio(find(rows, name, 'events'), find(rows, raw, 'events')), 0.9);
  }
  const sqsEvents = find(rows, 'sqs', 'events');
  const unbatched = find(rows, 'raw-sqs-unbatched', 'events');
  const sendRatio = sqsEvents?.sendPerSec && unbatched?.sendPerSec ? sqsEvents.sendPerSec / unbatched.sendPerSec : undefined;
  add(
    'sqs auto-batched emits ≥ 5× one SendMessage per event (emit rate)',
    sendRatio,
    5,
    sqsEvents && unbatched ? `; end to end ${ratio(sqsEvents, unbatched)?.toFixed(2)}×` : '',
  );
  return checks;
}

export function formatChecks(checks: TargetCheck[]): string {
  return checks.map((c) => `${c.met === null ? '  –' : c.met ? ' OK' : 'MISS'}  ${c.target}: ${c.detail}`).join('\n');
}
