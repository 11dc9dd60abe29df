/**
 * A benchmark process: `node child.js server` or `node child.js client`, driven over IPC by the
 * CLI (commands `{ id, cmd, args }`, answers `{ id, result }` or `{ id, error }`).
 */
import { Logger } from '@nestjs/common';
import { epochMs } from './clock.js';
import { LatencyHistogram } from './histogram.js';
import { findTarget } from './registry.js';
import { RssSampler } from './rss.js';
import type { BenchClient, BenchPayload, RunningServer } from './types.js';
import { eventRound, requestRound, type RoundLimits } from './workloads.js';

type Command = { id: number; cmd: string; args: Record<string, any> };

const role = process.argv[2];
// Clients log their connections at LOG level; the harness's output is its progress and table.
Logger.overrideLogger(['error']);
const rss = new RssSampler();
let server: RunningServer | undefined;
let client: BenchClient | undefined;

// Events seen by the server since the last 'events-reset'.
const eventLatency = new LatencyHistogram();
let eventCount = 0;
let lastEventAt = 0;
let eventWaiter: (() => void) | undefined;
let eventTarget = Infinity;

function onEvent(data: BenchPayload): void {
  const now = epochMs();
  eventCount++;
  lastEventAt = now;
  eventLatency.recordMs(now - data.t);
  if (eventCount >= eventTarget) eventWaiter?.();
}

function waitForEvents(n: number, timeoutMs: number): Promise<void> {
  if (eventCount >= n) return Promise.resolve();
  eventTarget = n;
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      eventWaiter = undefined;
      eventTarget = Infinity;
      resolve();
    }
    eventWaiter = done;
  });
}

const commands: Record<string, (args: Record<string, any>) => Promise<unknown>> = {
  async start({ target, ns, url, info }) {
    const spec = findTarget(target);
    const module = await spec.load();
    if (role === 'server') {
      server = await module.startServer({ ns, url, onEvent });
      return server.info ?? {};
    }
    client = await module.startClient({ ns, url, info });
    return {};
  },
  request: async (limits) => requestRound(client!, limits as RoundLimits),
  events: async (limits) => eventRound(client!, limits as RoundLimits),
  async 'events-reset'() {
    eventCount = 0;
    lastEventAt = 0;
    eventLatency.reset();
    return {};
  },
  async 'events-wait'({ n, timeoutMs }) {
    await waitForEvents(n, timeoutMs);
    return { count: eventCount, lastAt: lastEventAt, p50Ms: eventLatency.percentileMs(50), p99Ms: eventLatency.percentileMs(99) };
  },
  async 'rss-reset'() {
    rss.reset();
    return {};
  },
  rss: async () => rss.read(),
  /** CPU time used by this process so far, in µs (user + system). */
  cpu: async () => {
    const usage = process.cpuUsage();
    return { us: usage.user + usage.system, user: usage.user, system: usage.system };
  },
  async gc() {
    (globalThis as { gc?: () => void }).gc?.();
    return rss.read();
  },
  async stop() {
    await Promise.race([(server ?? client)?.close(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    setImmediate(() => process.exit(0));
    return {};
  },
};

process.on('message', (message: Command) => {
  const run = commands[message.cmd];
  if (!run) return process.send!({ id: message.id, error: `unknown command ${message.cmd}` });
  run(message.args ?? {}).then(
    (result) => process.send!({ id: message.id, result }),
    (err) => process.send!({ id: message.id, error: (err as Error)?.stack ?? String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.on('unhandledRejection', (err) => {
  if (process.env.BENCH_DEBUG) console.error(`[${role}] unhandled rejection:`, err);
});
process.send!({ id: 0, result: 'alive' });
