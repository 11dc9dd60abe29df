import { BenchProcess } from './proc.js';
import { CHILD_ENV, type Progress } from './runner.js';
import { round } from './stats.js';
import type { RequestRound } from './workloads.js';

export interface SoakReport {
  name: string;
  requests: number;
  inFlight: number;
  errors: number;
  throughputPerSec: number;
  /** Server RSS after the first 20% of the requests (where it settled). */
  settledRssMb: number;
  maxRssAfterSettledMb: number;
  finalRssMb: number;
  clientFinalRssMb: number;
  /** Highest RSS after settling ÷ settled RSS − 1. */
  growth: number;
  withinTenPercent: boolean;
  /** Server RSS (MB) after each chunk. */
  samples: Array<{ requests: number; rssMb: number; clientRssMb: number }>;
}

/** 1,000,000 requests at 100 in flight through the WS transport, RSS sampled after every chunk. */
export async function runSoak(total: number, progress: Progress): Promise<SoakReport> {
  const chunks = 20;
  const chunk = Math.ceil(total / chunks);
  const settleAfter = Math.ceil(chunks / 5);
  const server = await BenchProcess.start('server', CHILD_ENV);
  let client: BenchProcess | undefined;
  try {
    const ns = `bench-${process.pid}-soak`;
    const info = await server.call('start', { target: 'ws', ns });
    client = await BenchProcess.start('client', CHILD_ENV);
    await client.call('start', { target: 'ws', ns, info });
    const samples: SoakReport['samples'] = [];
    let done = 0;
    let errors = 0;
    let elapsedMs = 0;
    for (let i = 0; i < chunks; i++) {
      const r: RequestRound = await client.call('request', { messages: chunk, inFlight: 100, maxMs: 600_000, stallMs: 10_000 }, 700_000);
      done += r.completed;
      errors += r.errors;
      elapsedMs += r.elapsedMs;
      const [s, c] = await Promise.all([server.call('rss'), client.call('rss')]);
      samples.push({ requests: done, rssMb: round(s.currentMb, 1), clientRssMb: round(c.currentMb, 1) });
      progress(
        `soak: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} requests, server RSS ${s.currentMb.toFixed(1)} MB, client ${c.currentMb.toFixed(1)} MB`,
      );
      if (r.stalled) break;
    }
    const settled = samples[Math.min(settleAfter, samples.length) - 1]?.rssMb ?? 0;
    const after = samples.slice(settleAfter);
    const maxAfter = after.length ? Math.max(...after.map((s) => s.rssMb)) : settled;
    const growth = settled ? maxAfter / settled - 1 : 0;
    return {
      name: 'ws',
      requests: done,
      inFlight: 100,
      errors,
      throughputPerSec: Math.round((done * 1000) / Math.max(elapsedMs, 1)),
      settledRssMb: settled,
      maxRssAfterSettledMb: maxAfter,
      finalRssMb: samples.at(-1)?.rssMb ?? 0,
      clientFinalRssMb: samples.at(-1)?.clientRssMb ?? 0,
      growth: round(growth, 3),
      withinTenPercent: done >= total && growth <= 0.1,
      samples,
    };
  } finally {
    await Promise.all([client?.stop(), server.stop()]);
  }
}
