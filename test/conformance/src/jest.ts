import { describe, it, expect } from '@jest/globals';
import type { TransportDescriptor } from './descriptor.js';
import { DEFAULT_TIMEOUT_MS, notApplicableReason, resolveSafely, runScenario, unavailableOutcome } from './runner.js';
import type { Scenario } from './scenario.js';
import { scenarios as catalogue } from './scenarios/index.js';

/**
 * Registers one jest test per scenario; await it at the top level of an ESM spec file
 * (`await describeConformance(myTransport)`), because the backend is resolved before tests are declared.
 *
 * Scenarios the transport does not claim, and scenarios whose backend is unreachable, are declared
 * with `it.skip` and the reason in the title, so jest counts them as skipped, never as passed.
 * Under CI=true an unreachable backend the machine offers is a failing test instead.
 */
export async function describeConformance(t: TransportDescriptor, scenarios: Scenario[] = catalogue): Promise<void> {
  const availability = await resolveSafely(t);
  describe(`conformance: ${t.name} (${t.kind})`, () => {
    for (const scenario of scenarios) {
      const na = notApplicableReason(t, scenario);
      if (na) {
        it.skip(`${scenario.id} — n/a: ${na}`, () => {});
      } else if (!availability.available && unavailableOutcome(t) === 'skipped') {
        it.skip(`${scenario.id} — skipped: ${availability.reason}`, () => {});
      } else {
        const limit = (scenario.timeoutMs ?? t.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 15_000;
        it(
          `${scenario.id} — ${scenario.title}`,
          async () => {
            const result = await runScenario(t, scenario, availability);
            expect(result.error).toBeNull();
            expect(result.outcome).toBe('pass');
          },
          limit,
        );
      }
    }
  });
}
