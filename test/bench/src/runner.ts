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

interface Measured {
  messages: number;
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  sendPerSec?: number;
  errors: number;
  lost: number;
  firstError?: string;
}

/** Starts the target's server and client processes and runs every workload of the plan on them. */
export async function runTarget(spec: TargetSpec, plan: Plan, progress: Progress): Promise<{ rows: ResultRow[]; skipped?: SkippedRow }> {
  const skip = (reason: string) => ({ rows: [], skipped: { name: spec.name, kind: spec.kind, reason } });
  const unavailable = await spec.unavailable?.();
  if (unavailable) return skip(unavailable);
  let url: string | undefined;
  let backendEnv: Record<string, string> = {};
  if (spec.backend) {
    progress(`${spec.name}: resolving backend ${spec.backend}…`);
    const backend = await resolveBackend(spec.backend).catch((err) => ({ available: false as const, reason: (err as Error).message }));
    if (!backend.available) return skip(`backend ${spec.backend} unavailable: ${backend.reason}`);
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
    const rows: ResultRow[] = [];
    for (const workload of plan.workloads) {
      if (spec.workloads && !spec.workloads.includes(workload.workload)) continue;
      rows.push(await measureWorkload(spec, workload, plan, server, client, progress));
    }
    return { rows };
  } catch (err) {
    return skip(`failed: ${((err as Error).message ?? String(err)).split('\n')[0]}`);
  } finally {
    await Promise.all([client?.stop(), server?.stop()]);
  }
}

async function measureWorkload(
  spec: TargetSpec,
  workload: WorkloadPlan,
  plan: Plan,
  server: BenchProcess,
  client: BenchProcess,
  progress: Progress,
): Promise<ResultRow> {
  const events = workload.workload === 'events';
  const inFlight = events ? (spec.emitWindow ?? workload.inFlight) : workload.inFlight;
  const messages = Math.max(50, Math.round(workload.messages * (spec.scale ?? 1)));
  const label = `${spec.name} · ${events ? 'events' : 'request-response'} ×${inFlight}`;
  const limits = (maxMs: number, share = 1): RoundLimits => ({ messages: Math.max(20, Math.round(messages * share)), inFlight, maxMs, stallMs: plan.stallMs });
  const once = (l: RoundLimits) => (events ? eventOnce(server, client, l, plan.stallMs) : requestOnce(client, l));

  progress(`${label}: warm-up`);
  await once(limits(plan.warmupMs, 0.3));
  await Promise.all([server.call('rss-reset'), client.call('rss-reset')]);
  const cpuBefore = await Promise.all([server.call('cpu'), client.call('cpu')]);
  const results: Measured[] = [];
  for (let r = 1; r <= plan.rounds; r++) {
    const result = await once(limits(plan.roundMs));
    results.push(result);
    progress(`${label}: round ${r}/${plan.rounds} ${Math.round(result.throughputPerSec).toLocaleString('en-US')}/s p99 ${result.p99Ms.toFixed(2)} ms`);
  }
  const cpuAfter = await Promise.all([server.call('cpu'), client.call('cpu')]);
  const [serverRss, clientRss] = await Promise.all([server.call('rss'), client.call('rss')]);
  const handled = Math.max(
    1,
    results.reduce((sum, r) => sum + r.messages, 0),
  );
  const cpuPerMessage = (i: number) => round((cpuAfter[i].us - cpuBefore[i].us) / handled, 1);
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  const lost = results.reduce((sum, r) => sum + r.lost, 0);
  const notes = [
    spec.note,
    errors ? `${errors} errors (${results.find((r) => r.firstError)?.firstError})` : '',
    lost ? `${lost} events lost or late` : '',
  ].filter(Boolean);
  const sendRates = results.map((r) => r.sendPerSec).filter((v): v is number => v !== undefined);
  return {
    name: spec.name,
    kind: spec.kind,
    workload: workload.workload,
    inFlight,
    messages: Math.round(median(results.map((r) => r.messages))),
    throughputPerSec: Math.round(median(results.map((r) => r.throughputPerSec))),
    p50Ms: round(median(results.map((r) => r.p50Ms)), 3),
    p99Ms: round(median(results.map((r) => r.p99Ms)), 3),
    rssMb: round(serverRss.peakMb, 1),
    clientRssMb: round(clientRss.peakMb, 1),
    serverCpuUs: cpuPerMessage(0),
    clientCpuUs: cpuPerMessage(1),
    ...(sendRates.length && { sendPerSec: Math.round(median(sendRates)) }),
    rounds: results.length,
    ...(notes.length && { note: notes.join('; ') }),
  };
}

async function requestOnce(client: BenchProcess, limits: RoundLimits): Promise<Measured> {
  const r: RequestRound = await client.call('request', limits, limits.maxMs + limits.stallMs + 30_000);
  return {
    messages: r.completed,
    throughputPerSec: r.elapsedMs > 0 ? (r.completed * 1000) / r.elapsedMs : 0,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors + (r.stalled ? 1 : 0),
    lost: 0,
    firstError: r.firstError ?? (r.stalled ? 'stalled: replies stopped arriving' : undefined),
  };
}

/** Events: the client emits; the server counts arrivals and their one-way latency (send → handler). */
async function eventOnce(server: BenchProcess, client: BenchProcess, limits: RoundLimits, stallMs: number): Promise<Measured> {
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
  };
}
