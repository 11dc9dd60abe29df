import { resolveBackend } from '@nest-transports/backends';
import type { Plan, WorkloadPlan } from './plan.js';
import { BenchProcess } from './proc.js';
import { median, round } from './stats.js';
import type { ResultRow, SkippedRow, TargetSpec } from './types.js';
import type { EventRound, RequestRound, RoundLimits } from './workloads.js';

export type Progress = (line: string) => void;

/** Environment of every benchmark process: nothing leaves loopback, no SDK nagging on stderr. */
export const CHILD_ENV = {
  METADATA_SERVER_DETECTION: 'none',
  GOOGLE_CLOUD_PROJECT: 'nest-transports-bench',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** One measured round of one row. */
export interface Measured {
  messages: number;
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  sendPerSec?: number;
  errors: number;
  lost: number;
  firstError?: string;
  /** Replies or events stopped arriving before the round's end. */
  stalled?: boolean;
  /** CPU µs per message in the server and client processes during this round. */
  serverCpuUs: number;
  clientCpuUs: number;
}

/** A target whose server and client processes are up. */
interface Running {
  spec: TargetSpec;
  server: BenchProcess;
  client: BenchProcess;
}

/**
 * Runs a family of targets (a transport and its baselines, `spec.family`) with every process up
 * at once, and interleaves their rounds: round r of each row runs next to round r of the others
 * (the order rotates every round), so that a change of machine load or of a backend's mode hits
 * every row of the family alike and per-round ratios can be compared (report.ts).
 */
export async function runFamily(specs: TargetSpec[], plan: Plan, progress: Progress): Promise<{ rows: ResultRow[]; skipped: SkippedRow[] }> {
  const skipped: SkippedRow[] = [];
  const running: Running[] = [];
  const rows: ResultRow[] = [];
  try {
    for (const spec of specs) {
      const started = await startTarget(spec, progress);
      if ('reason' in started) {
        skipped.push({ name: spec.name, kind: spec.kind, reason: started.reason });
        progress(`${spec.name}: not measured — ${started.reason}`);
      } else running.push(started);
    }
    for (const workload of plan.workloads) {
      const members = running.filter((r) => !r.spec.workloads || r.spec.workloads.includes(workload.workload));
      rows.push(...(await measureWorkload(members, workload, plan, progress)));
    }
  } catch (err) {
    for (const r of running)
      skipped.push({ name: r.spec.name, kind: r.spec.kind, reason: `failed: ${((err as Error).message ?? String(err)).split('\n')[0]}` });
  } finally {
    await Promise.all(running.flatMap((r) => [r.client.stop(), r.server.stop()]));
  }
  return { rows, skipped };
}

async function startTarget(spec: TargetSpec, progress: Progress): Promise<Running | { reason: string }> {
  const unavailable = await spec.unavailable?.();
  if (unavailable) return { reason: unavailable };
  let url: string | undefined;
  let backendEnv: Record<string, string> = {};
  if (spec.backend) {
    progress(`${spec.name}: resolving backend ${spec.backend}…`);
    const backend = await resolveBackend(spec.backend).catch((err) => ({ available: false as const, reason: (err as Error).message }));
    if (!backend.available) return { reason: `backend ${spec.backend} unavailable: ${backend.reason}` };
    url = backend.url;
    backendEnv = backend.env ?? {};
  }
  const ns = `bench-${process.pid}-${spec.name}`.replace(/[^A-Za-z0-9-]/g, '-');
  const env = { ...backendEnv, ...CHILD_ENV };
  let server: BenchProcess | undefined;
  let client: BenchProcess | undefined;
  try {
    server = await BenchProcess.start('server', env);
    const info = await server.call('start', { target: spec.name, ns, url }, 120_000);
    client = await BenchProcess.start('client', env);
    await client.call('start', { target: spec.name, ns, url, info }, 120_000);
    return { spec, server, client };
  } catch (err) {
    await Promise.all([client?.stop(), server?.stop()]);
    return { reason: `failed: ${((err as Error).message ?? String(err)).split('\n')[0]}` };
  }
}

/** Round length of a workload: the plan's, or the longest a member asks for (`spec.roundMs`) in a full run. */
const roundMsOf = (members: Running[], plan: Plan) => (plan.quick ? plan.roundMs : Math.max(plan.roundMs, ...members.map((m) => m.spec.roundMs ?? 0)));

async function measureWorkload(members: Running[], workload: WorkloadPlan, plan: Plan, progress: Progress): Promise<ResultRow[]> {
  const { rounds } = plan;
  const roundMs = roundMsOf(members, plan);
  const results = new Map<Running, Measured[]>(members.map((m) => [m, []]));
  for (const m of members) {
    progress(`${label(m.spec, workload)}: warm-up`);
    await measureRound(m, workload, plan, plan.warmupMs, 0.3);
    await Promise.all([m.server.call('rss-reset'), m.client.call('rss-reset')]);
  }
  // A row that stalled (lost replies) is not measured again in this workload: each stall costs stallMs.
  const stalled = new Set<Running>();
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < members.length; k++) {
      const m = members[(k + r) % members.length];
      if (stalled.has(m)) continue;
      const result = await measureRound(m, workload, plan, roundMs);
      results.get(m)!.push(result);
      if (result.stalled) stalled.add(m);
      progress(
        `${label(m.spec, workload)}: round ${r + 1}/${rounds} ${Math.round(result.throughputPerSec).toLocaleString('en-US')}/s p50 ${result.p50Ms.toFixed(2)} p99 ${result.p99Ms.toFixed(2)} ms`,
      );
    }
  }
  const rows: ResultRow[] = [];
  for (const m of members) {
    const [serverRss, clientRss] = await Promise.all([m.server.call('rss'), m.client.call('rss')]);
    rows.push(toRow(m.spec, workload, results.get(m)!, serverRss.peakMb, clientRss.peakMb, rounds));
  }
  return rows;
}

function label(spec: TargetSpec, workload: WorkloadPlan): string {
  const events = workload.workload === 'events';
  return `${spec.name} · ${events ? 'events' : 'request-response'} ×${events ? (spec.emitWindow ?? workload.inFlight) : workload.inFlight}`;
}

async function measureRound(m: Running, workload: WorkloadPlan, plan: Plan, maxMs: number, share = 1): Promise<Measured> {
  const events = workload.workload === 'events';
  const inFlight = events ? (m.spec.emitWindow ?? workload.inFlight) : workload.inFlight;
  const messages = Math.max(50, Math.round(workload.messages * (m.spec.scale ?? 1)));
  const limits: RoundLimits = { messages: Math.max(20, Math.round(messages * share)), inFlight, maxMs, stallMs: plan.stallMs };
  const before = await Promise.all([m.server.call('cpu'), m.client.call('cpu')]);
  const result = events ? await eventOnce(m.server, m.client, limits, plan.stallMs) : await requestOnce(m.client, limits);
  const after = await Promise.all([m.server.call('cpu'), m.client.call('cpu')]);
  const handled = Math.max(1, result.messages);
  return { ...result, serverCpuUs: (after[0].us - before[0].us) / handled, clientCpuUs: (after[1].us - before[1].us) / handled };
}

function toRow(spec: TargetSpec, workload: WorkloadPlan, results: Measured[], rssMb: number, clientRssMb: number, planned: number): ResultRow {
  const events = workload.workload === 'events';
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  const lost = results.reduce((sum, r) => sum + r.lost, 0);
  const notes = [
    spec.note,
    errors ? `${errors} errors (${results.find((r) => r.firstError)?.firstError})` : '',
    lost ? `${lost} events lost or late` : '',
    results.length < planned ? `stopped after round ${results.length} of ${planned}: it stalled` : '',
  ].filter(Boolean);
  const sendRates = results.map((r) => r.sendPerSec).filter((v): v is number => v !== undefined);
  const throughputs = results.map((r) => r.throughputPerSec);
  return {
    name: spec.name,
    kind: spec.kind,
    workload: workload.workload,
    inFlight: events ? (spec.emitWindow ?? workload.inFlight) : workload.inFlight,
    messages: Math.round(median(results.map((r) => r.messages))),
    throughputPerSec: Math.round(median(throughputs)),
    p50Ms: round(median(results.map((r) => r.p50Ms)), 3),
    p99Ms: round(median(results.map((r) => r.p99Ms)), 3),
    rssMb: round(rssMb, 1),
    clientRssMb: round(clientRssMb, 1),
    serverCpuUs: round(median(results.map((r) => r.serverCpuUs)), 1),
    clientCpuUs: round(median(results.map((r) => r.clientCpuUs)), 1),
    ...(sendRates.length && { sendPerSec: Math.round(median(sendRates)) }),
    rounds: results.length,
    perRound: results.map((r) => ({
      throughputPerSec: Math.round(r.throughputPerSec),
      p50Ms: round(r.p50Ms, 3),
      p99Ms: round(r.p99Ms, 3),
      serverCpuUs: round(r.serverCpuUs, 1),
      clientCpuUs: round(r.clientCpuUs, 1),
      ...(r.sendPerSec !== undefined && { sendPerSec: Math.round(r.sendPerSec) }),
    })),
    ...(notes.length && { note: notes.join('; ') }),
  };
}

async function requestOnce(client: BenchProcess, limits: RoundLimits): Promise<Omit<Measured, 'serverCpuUs' | 'clientCpuUs'>> {
  const r: RequestRound = await client.call('request', limits, limits.maxMs + limits.stallMs + 30_000);
  return {
    messages: r.completed,
    throughputPerSec: r.elapsedMs > 0 ? (r.completed * 1000) / r.elapsedMs : 0,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors + (r.stalled ? 1 : 0),
    lost: 0,
    firstError: r.firstError ?? (r.stalled ? 'stalled: replies stopped arriving' : undefined),
    stalled: r.stalled,
  };
}

/** Events: the client emits; the server counts arrivals and their one-way latency (send → handler). */
async function eventOnce(
  server: BenchProcess,
  client: BenchProcess,
  limits: RoundLimits,
  stallMs: number,
): Promise<Omit<Measured, 'serverCpuUs' | 'clientCpuUs'>> {
  await server.call('events-reset');
  const sent: EventRound = await client.call('events', limits, limits.maxMs + limits.stallMs + 30_000);
  const seen: { count: number; lastAt: number; p50Ms: number; p99Ms: number } = await server.call(
    'events-wait',
    { n: sent.sent, timeoutMs: stallMs },
    stallMs + 10_000,
  );
  const endToEndMs = Math.max(seen.lastAt - sent.startedAt, 0.001);
  return {
    messages: seen.count,
    throughputPerSec: seen.count ? (seen.count * 1000) / endToEndMs : 0,
    sendPerSec: (sent.sent * 1000) / Math.max(sent.sentAt - sent.startedAt, 0.001),
    p50Ms: seen.p50Ms,
    p99Ms: seen.p99Ms,
    errors: sent.errors,
    lost: Math.max(0, sent.sent - seen.count),
    firstError: sent.firstError,
    stalled: sent.stalled || seen.count < sent.sent,
  };
}
