import { describe, expect, it } from '@jest/globals';
import { testTimeScale } from '@nest-transports/backends';
import type { Availability, TransportDescriptor } from './descriptor.js';
import {
  missingRequirement,
  notApplicableReason,
  resolveSafely,
  runScenario,
  scenarioLimit,
  timeScale,
  unavailableOutcome,
  type RunOptions,
} from './runner.js';
import type { Scenario } from './scenario.js';
import { scenarios as catalogue } from './scenarios/index.js';
import { validateDescriptor } from './validate.js';

export interface JestOptions extends RunOptions {
  /** The scenarios to declare (default: the whole catalogue). */
  scenarios?: Scenario[];
}

function declare(t: TransportDescriptor, availability: () => Promise<Availability>, known: Availability | undefined, given: JestOptions): void {
  validateDescriptor(t);
  // The test run's time scale (TEST_TIME_SCALE, default 1) unless the spec gives its own.
  const opts = { ...given, timeScale: given.timeScale ?? testTimeScale() };
  describe(`conformance: ${t.name} (${t.kind})`, () => {
    for (const scenario of opts.scenarios ?? catalogue) {
      const skip = notApplicableReason(t, scenario) ?? missingRequirement(scenario);
      if (skip) {
        it.skip(`${scenario.id} — ${notApplicableReason(t, scenario) ? 'n/a' : 'skipped'}: ${skip}`, () => {});
      } else if (known && !known.available && unavailableOutcome(t) === 'skipped') {
        it.skip(`${scenario.id} — skipped: ${known.reason}`, () => {});
      } else {
        const limit = scenarioLimit(t, scenario, opts) + Math.round(35_000 * timeScale(t, opts));
        it(
          `${scenario.id} — ${scenario.title}`,
          async () => {
            const result = await runScenario(t, scenario, await availability(), opts);
            expect(result.error).toBeNull();
            expect(result.outcome).toBe('pass');
          },
          limit,
        );
      }
    }
  });
}

/**
 * Registers one jest test per scenario; await it at the top level of an ESM spec file
 * (`await describeConformance(myTransport)`): the backend is resolved first, so that scenarios the
 * transport does not claim, and all of them when its backend is unreachable, are declared with
 * `it.skip` and the reason in the title — counted as skipped, never as passed. Under CI=true an
 * unreachable backend the machine offers is a failing test instead.
 */
export async function describeConformance(t: TransportDescriptor, opts: JestOptions = {}): Promise<void> {
  const availability = await resolveSafely(t, { timeScale: opts.timeScale ?? testTimeScale() });
  declare(t, async () => availability, availability, opts);
}

/**
 * The same, declared at once (a CommonJS spec has no top-level await): the backend is resolved when
 * the first test runs, so an unreachable backend fails the claimed scenarios with the reason instead
 * of skipping them. Unclaimed scenarios are still `it.skip`.
 */
export function describeConformanceSync(t: TransportDescriptor, opts: JestOptions = {}): void {
  let pending: Promise<Availability> | undefined;
  declare(t, () => (pending ??= resolveSafely(t, { timeScale: opts.timeScale ?? testTimeScale() })), undefined, opts);
}
