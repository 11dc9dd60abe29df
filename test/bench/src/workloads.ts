import { epochMs, PAYLOAD_TEXT } from './clock.js';
import { LatencyHistogram } from './histogram.js';
import type { BenchClient } from './types.js';

export interface RoundLimits {
  /** Operations to do at most. */
  messages: number;
  /** Operations in flight at once. */
  inFlight: number;
  /** No new operation starts after this many ms. */
  maxMs: number;
  /** The round ends when no operation completed for this long (lost replies). */
  stallMs: number;
}

export interface RequestRound {
  completed: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
  stalled: boolean;
}

export interface EventRound {
  sent: number;
  errors: number;
  firstError?: string;
  startedAt: number;
  sentAt: number;
  stalled: boolean;
}

/**
 * Runs `limits.inFlight` workers that each send their next operation when the previous one
 * settled, until `messages` were started or `maxMs` passed; ends early when nothing completes
 * for `stallMs` (a transport that lost replies).
 */
async function runWorkers(limits: RoundLimits, operation: (i: number) => Promise<unknown>, onDone: (startedMs: number) => void) {
  let issued = 0;
  let errors = 0;
  let firstError: string | undefined;
  let lastProgress = performance.now();
  const deadline = performance.now() + limits.maxMs;
  const worker = async () => {
    while (issued < limits.messages && performance.now() < deadline) {
      const i = issued++;
      const started = performance.now();
      try {
        await operation(i);
        onDone(started);
      } catch (err) {
        errors++;
        firstError ??= (err as Error)?.message ?? String(err);
      }
      lastProgress = performance.now();
    }
  };
  let stallTimer: NodeJS.Timeout | undefined;
  const stalled = new Promise<boolean>((resolve) => {
    stallTimer = setInterval(
      () => {
        if (performance.now() - lastProgress > limits.stallMs) resolve(true);
      },
      Math.min(250, limits.stallMs),
    );
  });
  const finished = Promise.all(Array.from({ length: limits.inFlight }, worker)).then(() => false);
  const wasStalled = await Promise.race([finished, stalled]);
  clearInterval(stallTimer);
  return { errors, firstError, stalled: wasStalled };
}

export async function requestRound(client: BenchClient, limits: RoundLimits): Promise<RequestRound> {
  const histogram = new LatencyHistogram();
  let completed = 0;
  const start = performance.now();
  const outcome = await runWorkers(
    limits,
    (i) => client.request({ i, t: epochMs(), text: PAYLOAD_TEXT }),
    (started) => {
      histogram.recordMs(performance.now() - started);
      completed++;
    },
  );
  const elapsedMs = performance.now() - start;
  return { completed, elapsedMs, p50Ms: histogram.percentileMs(50), p99Ms: histogram.percentileMs(99), ...outcome };
}

export async function eventRound(client: BenchClient, limits: RoundLimits): Promise<EventRound> {
  let sent = 0;
  const startedAt = epochMs();
  const outcome = await runWorkers(
    limits,
    (i) => client.emit({ i, t: epochMs(), text: PAYLOAD_TEXT }),
    () => sent++,
  );
  return { sent, startedAt, sentAt: epochMs(), ...outcome };
}
