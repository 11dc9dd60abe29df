import { describe, expect, it } from '@jest/globals';
import { checkTargets } from '../src/report.js';
import { medianInterval } from '../src/stats.js';
import type { ResultRow } from '../src/types.js';

describe('medianInterval (distribution-free 95% interval of the median)', () => {
  it('drops the order statistics a binomial tail of 2.5% allows on each side', () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => n - i); // unsorted on purpose
    expect(medianInterval(values(5))).toEqual({ lo: 1, hi: 5 }); // no k reaches 95%: the range
    expect(medianInterval(values(9))).toEqual({ lo: 2, hi: 8 });
    expect(medianInterval(values(15))).toEqual({ lo: 4, hi: 12 });
    expect(medianInterval(values(20))).toEqual({ lo: 6, hi: 15 });
    expect(medianInterval([7])).toEqual({ lo: 7, hi: 7 });
  });
});

/** ws and nest-tcp rows at 1 in flight, interleaved, with these per-round throughputs. */
function rows(ws: number[], tcp: number[]): ResultRow[] {
  const row = (name: string, rates: number[]): ResultRow => ({
    name,
    kind: name === 'ws' ? 'transport' : 'baseline',
    workload: 'request-response',
    inFlight: 1,
    messages: 1000,
    throughputPerSec: rates[rates.length >> 1],
    p50Ms: 0.1,
    p99Ms: 0.2,
    rssMb: 50,
    perRound: rates.map((throughputPerSec) => ({ throughputPerSec, p50Ms: 0.1, p99Ms: 0.2, serverCpuUs: 50, clientCpuUs: 50 })),
  });
  return [row('ws', ws), row('nest-tcp', tcp)];
}

const wsVsTcp = (r: ResultRow[]) => checkTargets(r).find((c) => c.target.startsWith('ws ≥ 1.1× nest-tcp'))!;
const fifteen = (f: (i: number) => number) => Array.from({ length: 15 }, (_, i) => f(i));

describe('checkTargets verdicts', () => {
  it('is met only when the whole interval clears the bound', () => {
    const check = wsVsTcp(
      rows(
        fifteen((i) => 1200 + (i % 3) * 10),
        fifteen(() => 1000),
      ),
    );
    expect(check).toEqual(expect.objectContaining({ met: true }));
    expect(check.detail).toMatch(/1\.21× \(needs ≥ 1\.1×; 95% interval 1\.20–1\.22, 15 interleaved rounds\)/);
  });

  it('is missed when the whole interval is short of the bound', () => {
    expect(
      wsVsTcp(
        rows(
          fifteen(() => 1050),
          fifteen(() => 1000),
        ),
      ),
    ).toEqual(expect.objectContaining({ met: false }));
  });

  it('is undecided (noise, not a result) when the interval straddles the bound, whatever the median', () => {
    const ratios = [0.9, 1.0, 1.05, 1.08, 1.12, 1.15, 1.15, 1.16, 1.18, 1.2, 1.25, 1.3, 1.35, 1.4, 1.5];
    const check = wsVsTcp(
      rows(
        ratios.map((x) => x * 1000),
        fifteen(() => 1000),
      ),
    );
    expect(check).toEqual(expect.objectContaining({ met: null, noise: true }));
    expect(check.detail).toMatch(/1\.16× .*the interval straddles the bound/);
  });

  it('pairs rounds: a machine slowing both rows alike leaves the ratio decided', () => {
    const load = fifteen((i) => (i % 2 ? 0.5 : 1)); // throughput halves every other round
    const check = wsVsTcp(
      rows(
        load.map((x) => 1200 * x),
        load.map((x) => 1000 * x),
      ),
    );
    expect(check).toEqual(expect.objectContaining({ met: true }));
  });
});
