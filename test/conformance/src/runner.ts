import type { Availability, Outcome, TransportDescriptor } from './descriptor.js';
import { Rig } from './rig.js';
import type { Scenario } from './scenario.js';
import { errorText, freePort, uniqueNamespace, withTimeout } from './util.js';

export interface ScenarioResult {
  scenario: string;
  outcome: Outcome;
  ms: number;
  error: string | null;
}

export const DEFAULT_TIMEOUT_MS = 20_000;

/** Why a scenario does not apply to a transport, or undefined when it does. */
export function notApplicableReason(t: TransportDescriptor, scenario: Scenario): string | undefined {
  const missing = scenario.needs.filter((c) => !t.capabilities.includes(c));
  if (missing.length) return `not claimed: ${missing.join(', ')}`;
  return t.notApplicable?.[scenario.id] ?? scenario.notApplicable?.(t);
}

/** Under CI=true a backend the machine offers must run, so "unavailable" is a failure there. */
export function unavailableOutcome(t: TransportDescriptor, env: NodeJS.ProcessEnv = process.env): Outcome {
  const required = t.requiredInCi ? t.requiredInCi(env) : true;
  return env.CI === 'true' && required ? 'fail' : 'skipped';
}

export async function runScenario(
  t: TransportDescriptor,
  scenario: Scenario,
  availability: Availability,
  opts: { timeoutMs?: number } = {},
): Promise<ScenarioResult> {
  const started = Date.now();
  const result = (outcome: Outcome, error: string | null): ScenarioResult => ({ scenario: scenario.id, outcome, ms: Date.now() - started, error });

  const na = notApplicableReason(t, scenario);
  if (na) return result('n/a', na);
  if (!availability.available) {
    return result(unavailableOutcome(t), availability.reason);
  }

  const [port, sparePort] = await Promise.all([freePort(), freePort()]);
  const rig = new Rig(t, { ns: uniqueNamespace(t.name, scenario.id), port, sparePort, url: availability.url, scenario: scenario.id });
  const limit = scenario.timeoutMs ?? opts.timeoutMs ?? t.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let error: string | null = null;
  // A transport's stray rejection must fail its scenario, not crash the run.
  const stray: unknown[] = [];
  const onStray = (err: unknown) => void stray.push(err);
  // Take over unhandled rejections for the scenario (jest's own handler would fail the test before
  // the descriptor's knownStrayErrors are consulted); the previous listeners come back afterwards.
  const previous = process.rawListeners('unhandledRejection') as Array<(...args: any[]) => void>;
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', onStray);
  process.on('uncaughtException', onStray);
  try {
    const run = async () => {
      await t.prepare?.(rig.env);
      await scenario.run(rig);
    };
    await withTimeout(run(), limit, `scenario ${scenario.id} on ${t.name}`);
  } catch (err) {
    error = errorText(err);
  }
  const closeErrors = await withTimeout(rig.dispose(), 10_000, 'closing servers and clients').catch((err) => [err]);
  if (t.cleanup) await withTimeout(t.cleanup(rig.env), 10_000, `cleaning up after ${scenario.id}`).catch((err) => closeErrors.push(err));
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onStray);
  for (const listener of previous) process.on('unhandledRejection', listener);
  process.off('uncaughtException', onStray);
  const known = t.knownStrayErrors ?? [];
  stray.splice(0, stray.length, ...stray.filter((e) => !known.some((re) => re.test(errorText(e)))));
  if (!error && closeErrors.length) error = `cleanup failed: ${closeErrors.map(errorText).join('; ')}`;
  if (!error && stray.length) error = `unhandled error: ${stray.map((e) => (process.env.CONFORMANCE_STACKS ? (e as Error)?.stack : errorText(e))).join('; ')}`;
  return result(error ? 'fail' : 'pass', error);
}

export interface TransportReport {
  name: string;
  kind: 'custom' | 'builtin';
  backend: string;
  available: boolean;
  reason: string | null;
  differences: Record<string, string>;
  results: ScenarioResult[];
}

export async function resolveSafely(t: TransportDescriptor): Promise<Availability> {
  try {
    return await withTimeout(t.resolve(), 60_000, `resolving ${t.name}'s backend`);
  } catch (err) {
    return { available: false, reason: `resolve() failed: ${errorText(err)}` };
  }
}

export async function runTransport(
  t: TransportDescriptor,
  scenarios: Scenario[],
  onResult?: (result: ScenarioResult, index: number, total: number) => void,
): Promise<TransportReport> {
  const availability = await resolveSafely(t);
  const results: ScenarioResult[] = [];
  for (const [i, scenario] of scenarios.entries()) {
    const r = await runScenario(t, scenario, availability);
    results.push(r);
    onResult?.(r, i + 1, scenarios.length);
  }
  return {
    name: t.name,
    kind: t.kind,
    backend: availability.available ? `${t.backend} (${availability.description})` : t.backend,
    available: availability.available,
    reason: availability.available ? null : availability.reason,
    differences: t.differences ?? {},
    results,
  };
}
