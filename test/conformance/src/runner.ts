import { Module } from 'node:module';
import type { Capability } from './capabilities.js';
import type { Availability, Outcome, RunEnv, TransportDescriptor } from './descriptor.js';
import { installLine, missingPackages } from './environment.js';
import { NestLogCapture } from './nest-log.js';
import { Rig, namespaced } from './rig.js';
import type { Scenario } from './scenario.js';
import { errorText, freePort, uniqueNamespace, withTimeout } from './util.js';

export interface ScenarioResult {
  scenario: string;
  outcome: Outcome;
  ms: number;
  /** Why it failed (what was expected, what arrived), or why it is n/a or skipped; null on a pass. */
  error: string | null;
  /** Unhandled errors raised while a server or client closed, with the close() that raised them (they do not fail the scenario). */
  leaks: string[];
}

export const DEFAULT_TIMEOUT_MS = 20_000;
const CLEANUP_MS = 15_000;

/**
 * The rules every row is judged by, built-in or not; printed in every report. Descriptors document
 * behaviour (`differences`) and declare scenarios that do not fit (`notApplicable`); nothing else
 * changes a verdict.
 */
export const RULES = [
  'A scenario needing a capability the transport does not claim is n/a, with the reason: never run, never passed.',
  'Each scenario runs in a namespace of its own with fresh servers and clients, and every wait is bounded: 20 s per scenario (or the scenario’s own limit), times the row’s time scale (its descriptor’s timeoutMs over 20 s, at least 1, times the run’s --time-scale), which also stretches the waits inside the scenario. A hung transport fails its scenario, not the run.',
  'An unhandled rejection or uncaught exception raised while a scenario runs fails it, whatever the transport.',
  'The suite closes clients first, then servers, and waits for nothing transport-specific before a close. An unhandled error raised while a close() runs is a leak of that close(): listed with the scenario and marked `*` in the matrix; it fails the scenario only with --fail-on-leaks.',
  'A close() that throws or does not finish within 5 s (times the row’s time scale) fails the scenario, naming the client or server; so does an error from the descriptor’s cleanup().',
  'A backend that cannot be reached is skipped with the reason, and fails under CI=true where the machine offers it; a missing client library or optional package skips the row or scenario with the install line.',
];

/**
 * How much slower than the default this row's backend is allowed to be: its `timeoutMs` (or the
 * run's) over the 20 s default, at least 1, times the run's `timeScale` (a slow or busy machine).
 * Every time limit of its scenarios — the scenario's own, the waits inside it, the closes — is
 * multiplied by it.
 */
export function timeScale(t: TransportDescriptor, opts: RunOptions = {}): number {
  return Math.max(1, (opts.timeoutMs ?? t.timeoutMs ?? DEFAULT_TIMEOUT_MS) / DEFAULT_TIMEOUT_MS) * runScale(opts);
}

function runScale(opts: RunOptions): number {
  const scale = opts.timeScale ?? 1;
  if (!Number.isFinite(scale) || scale < 1) throw new RangeError(`timeScale is ${scale}: use a number of at least 1`);
  return scale;
}

/** The time limit of one scenario on one row. */
export function scenarioLimit(t: TransportDescriptor, scenario: Scenario, opts: RunOptions = {}): number {
  return Math.round((scenario.timeoutMs ?? DEFAULT_TIMEOUT_MS) * timeScale(t, opts));
}

/** Why a scenario does not apply to a transport, or undefined when it does. */
export function notApplicableReason(t: TransportDescriptor, scenario: Scenario): string | undefined {
  const missing = scenario.needs.filter((c) => !t.capabilities.includes(c));
  if (missing.length) return `not claimed: ${missing.join(', ')}`;
  return t.notApplicable?.[scenario.id] ?? scenario.notApplicable?.(t);
}

/** Why a scenario cannot run in this installation (an optional package is missing), or undefined. */
export function missingRequirement(scenario: Scenario): string | undefined {
  const missing = missingPackages(scenario.requires ?? [], 'common');
  return missing.length ? `needs ${missing.join(' and ')}: ${installLine(missing)}` : undefined;
}

/** Under CI=true a backend the machine offers must run, so "unavailable" is a failure there. */
export function unavailableOutcome(t: TransportDescriptor, env: NodeJS.ProcessEnv = process.env): Outcome {
  const required = t.requiredInCi ? t.requiredInCi(env) : true;
  return env.CI === 'true' && required ? 'fail' : 'skipped';
}

export interface RunOptions {
  /** Overrides every descriptor's `timeoutMs` (see timeScale). */
  timeoutMs?: number;
  /**
   * Multiplies every time limit of the run, on every row (default 1): for a machine slower or
   * busier than the one the limits were written for. The CLI's `--time-scale`; the jest adapter
   * takes it from `TEST_TIME_SCALE`.
   */
  timeScale?: number;
  /** Leaks (unhandled errors raised while a close() runs) fail the scenario. */
  failOnLeaks?: boolean;
}

/**
 * The Node process itself. Under jest, `process` is a copy with listeners of its own, so
 * unhandled rejections are seen (and turned into failures) only by listeners on the real one.
 */
const hostProcess: NodeJS.Process = (() => {
  try {
    const real = (Module as unknown as { _load?(request: string): unknown })._load?.('process') as NodeJS.Process | undefined;
    return real && typeof real.on === 'function' ? real : process;
  } catch {
    return process;
  }
})();

/** Thrown in place of process.exit() while a scenario runs: a transport (or Nest's package loader) cannot end the run. */
export class ProcessExitError extends Error {
  override name = 'ProcessExitError';
}

export async function runScenario(t: TransportDescriptor, scenario: Scenario, availability: Availability, opts: RunOptions = {}): Promise<ScenarioResult> {
  const started = Date.now();
  const leaks: string[] = [];
  const result = (outcome: Outcome, error: string | null): ScenarioResult => ({ scenario: scenario.id, outcome, ms: Date.now() - started, error, leaks });

  const na = notApplicableReason(t, scenario);
  if (na) return result('n/a', na);
  const missing = missingRequirement(scenario);
  if (missing) return result('skipped', missing);
  if (!availability.available) return result(unavailableOutcome(t), availability.reason);

  const [port, sparePort] = await Promise.all([freePort(), freePort()]);
  const ns = uniqueNamespace(t.name, scenario.id);
  const env: RunEnv = {
    ns,
    port,
    sparePort,
    url: availability.url,
    scenario: scenario.id,
    patterns: {
      messages: (scenario.patterns.messages ?? []).map((n) => namespaced(ns, n)),
      events: (scenario.patterns.events ?? []).map((n) => namespaced(ns, n)),
    },
  };
  const rig = new Rig(t, env, scenario.patterns, timeScale(t, opts));
  const limit = scenarioLimit(t, scenario, opts);
  const logs = new NestLogCapture();
  let error: string | null = null;
  const stray: string[] = [];
  const onStray = (err: unknown) => {
    const closing = rig.closingNow();
    const text = process.env.CONFORMANCE_STACKS ? ((err as Error)?.stack ?? errorText(err)) : errorText(err);
    if (closing.length) leaks.push(`${text} (unhandled, raised while ${closing.join(' and ')} closed)`);
    else stray.push(text);
  };
  // Take over unhandled rejections for the scenario (jest's own handler would fail the test before
  // the suite attributes them); the previous listeners come back afterwards.
  const previous = hostProcess.rawListeners('unhandledRejection') as Array<(...args: any[]) => void>;
  hostProcess.removeAllListeners('unhandledRejection');
  hostProcess.on('unhandledRejection', onStray);
  const previousUncaught = hostProcess.rawListeners('uncaughtException') as Array<(...args: any[]) => void>;
  hostProcess.removeAllListeners('uncaughtException');
  hostProcess.on('uncaughtException', onStray);
  const exits = [process, hostProcess].map((p) => [p, p.exit] as const);
  for (const [p] of exits)
    p.exit = ((code?: number) => {
      throw new ProcessExitError(
        `process.exit(${code ?? ''}) was called during the scenario${logs.lastError() ? ` after Nest logged: ${logs.lastError()}` : ''}`,
      );
    }) as typeof process.exit;
  logs.start();
  try {
    const run = async () => {
      await t.prepare?.(rig.env);
      await scenario.run(rig);
    };
    await withTimeout(run(), limit, `scenario ${scenario.id} on ${t.name}`);
  } catch (err) {
    error = errorText(err);
  }
  const closeErrors = await withTimeout(rig.dispose(), rig.ms(20_000), 'closing servers and clients').catch((err) => [err]);
  let cleanupError: string | null = null;
  if (t.cleanup) {
    await withTimeout(t.cleanup(rig.env), rig.ms(CLEANUP_MS), `${t.name} cleanup(env)`).catch(
      (err) => void (cleanupError = `cleanup(env) threw: ${errorText(err)}`),
    );
  }
  await new Promise((resolve) => setImmediate(resolve));
  logs.stop();
  for (const [p, exit] of exits) p.exit = exit;
  hostProcess.off('unhandledRejection', onStray);
  for (const listener of previous) hostProcess.on('unhandledRejection', listener);
  hostProcess.off('uncaughtException', onStray);
  for (const listener of previousUncaught) hostProcess.on('uncaughtException', listener);
  if (!error && closeErrors.length) error = `cleanup failed: ${closeErrors.map(errorText).join('; ')}`;
  if (!error && cleanupError) error = cleanupError;
  if (!error && stray.length) error = `unhandled error while the scenario ran: ${stray.join('; ')}`;
  if (!error && opts.failOnLeaks && leaks.length) error = `leaked (--fail-on-leaks): ${leaks.join('; ')}`;
  if (error && logs.errors().length) error += ` [Nest logged: ${logs.errors().slice(-3).join(' | ')}]`;
  return result(error ? 'fail' : 'pass', error);
}

export interface TransportReport {
  name: string;
  kind: 'custom' | 'builtin';
  backend: string;
  available: boolean;
  reason: string | null;
  /** The capabilities the descriptor claims (under --probe: what it claims, not the probe's all). */
  capabilities: Capability[];
  differences: Record<string, string>;
  notes: string[];
  /** Errors of the run as a whole (cleanupRun(), loading the descriptor): each counts as a failure. */
  errors: string[];
  results: ScenarioResult[];
}

export async function resolveSafely(t: TransportDescriptor, opts: RunOptions = {}): Promise<Availability> {
  try {
    return await withTimeout(t.resolve(), Math.round(60_000 * runScale(opts)), `resolving ${t.name}'s backend`);
  } catch (err) {
    return { available: false, reason: `resolve() failed: ${errorText(err)}` };
  }
}

/** A row that could not run at all (its descriptor or client library could not be loaded): every scenario skipped with the reason. */
export function skippedRow(
  meta: { name: string; kind: 'custom' | 'builtin'; backend: string; capabilities?: Capability[] },
  reason: string,
  scenarios: Scenario[],
): TransportReport {
  return {
    name: meta.name,
    kind: meta.kind,
    backend: meta.backend,
    available: false,
    reason,
    capabilities: meta.capabilities ?? [],
    differences: {},
    notes: [],
    errors: [],
    results: scenarios.map((s) => ({ scenario: s.id, outcome: 'skipped', ms: 0, error: reason, leaks: [] })),
  };
}

export async function runTransport(
  t: TransportDescriptor,
  scenarios: Scenario[],
  onResult?: (result: ScenarioResult, index: number, total: number) => void,
  opts: RunOptions & { claimed?: Capability[] } = {},
): Promise<TransportReport> {
  const availability = await resolveSafely(t, opts);
  const results: ScenarioResult[] = [];
  for (const [i, scenario] of scenarios.entries()) {
    const r = await runScenario(t, scenario, availability, opts);
    results.push(r);
    onResult?.(r, i + 1, scenarios.length);
  }
  const errors: string[] = [];
  if (t.cleanupRun)
    await withTimeout(t.cleanupRun(), Math.round(CLEANUP_MS * timeScale(t, opts)), `${t.name} cleanupRun()`).catch((err) =>
      errors.push(`cleanupRun() threw: ${errorText(err)}`),
    );
  return {
    name: t.name,
    kind: t.kind,
    backend: availability.available ? `${t.backend} (${availability.description})` : t.backend,
    available: availability.available,
    reason: availability.available ? null : availability.reason,
    capabilities: opts.claimed ?? t.capabilities,
    differences: t.differences ?? {},
    notes: t.notes ?? [],
    errors,
    results,
  };
}
