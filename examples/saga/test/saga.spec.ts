import { afterAll, describe, expect, it } from '@jest/globals';
import { stopAllBackends } from '@nest-transports/backends';
import { STEP_TIMEOUT_MS } from '../src/orchestrated/orchestrator.js';
import { runSaga, type ScenarioResult } from '../src/run.js';
import { TRANSPORTS } from '../src/transports.js';

afterAll(() => stopAllBackends());

const byName = (results: ScenarioResult[], variant: string, scenario: string) => {
  const found = results.find((r) => r.variant === variant && r.scenario === scenario);
  if (!found) throw new Error(`no result for ${variant} / ${scenario}`);
  return found;
};

describe.each(TRANSPORTS)('the order saga over %s', (transport) => {
  it('confirms a good order and compensates declined, out-of-stock and timed-out ones, in both variants', async () => {
    const results = await runSaga(transport, ['orchestrated', 'choreographed']);
    expect(results).toHaveLength(7);

    for (const variant of ['orchestrated', 'choreographed']) {
      const happy = byName(results, variant, 'happy path');
      expect(happy.outcome).toMatchObject({ status: 'confirmed', paymentId: expect.stringMatching(/^pay_/) });
      expect(happy.stock.after).toBe(happy.stock.before - 2);

      const declined = byName(results, variant, 'payment declined');
      expect(declined.outcome).toMatchObject({ status: 'cancelled', reason: 'CARD_DECLINED' });
      expect(declined.outcome.steps).toEqual(expect.arrayContaining(['inventory.reserved', 'payment.declined', 'inventory.released']));
      expect(declined.stock.after).toBe(declined.stock.before);

      const outOfStock = byName(results, variant, 'out of stock');
      expect(outOfStock.outcome).toMatchObject({ status: 'cancelled', reason: 'OUT_OF_STOCK' });
      expect(outOfStock.stock.after).toBe(outOfStock.stock.before);
    }

    const timedOut = byName(results, 'orchestrated', 'inventory timeout');
    expect(timedOut.outcome).toMatchObject({ status: 'cancelled', reason: `inventory did not answer inventory.reserve within ${STEP_TIMEOUT_MS} ms` });
    expect(timedOut.outcome.steps).toEqual(['inventory.failed', 'inventory.released']);
    // The late reservation landed after the release and was refused: no stock leaked.
    expect(timedOut.stock.after).toBe(timedOut.stock.before);

    // One trace per order: every service's log lines about it carry the trace it was placed in.
    for (const result of results) {
      expect({ scenario: `${result.variant} / ${result.scenario}`, traces: [...new Set(result.logs.map((e) => e.traceId))] }).toEqual({
        scenario: `${result.variant} / ${result.scenario}`,
        traces: [result.traceId],
      });
    }
    for (const variant of ['orchestrated', 'choreographed']) {
      for (const scenario of ['happy path', 'payment declined']) {
        const services = new Set(byName(results, variant, scenario).logs.map((e) => e.service));
        expect({ variant, scenario, services }).toEqual({ variant, scenario, services: new Set(['orders', 'inventory', 'payments']) });
      }
    }
    expect(new Set(results.map((r) => r.traceId)).size).toBe(results.length); // and a trace of its own
  }, 90_000);
});
