import { describe, expect, it } from '@jest/globals';
import { RouteMemo } from '../src/index.js';

describe('RouteMemo', () => {
  it('computes a route once per pattern that has a handler', () => {
    let computed = 0;
    const memo = new RouteMemo(
      (p) => (computed++, p.toUpperCase()),
      (r) => r === 'SUM',
    );
    expect(memo.route('sum')).toBe('SUM');
    expect(memo.route('sum')).toBe('SUM');
    expect(computed).toBe(1);
  });

  it('does not keep routes without a handler, and stops growing at its limit', () => {
    let computed = 0;
    const memo = new RouteMemo(
      (p) => (computed++, p),
      (r) => r !== 'unknown',
      2,
    );
    memo.route('unknown');
    memo.route('unknown');
    expect(computed).toBe(2);
    memo.route('a');
    memo.route('b');
    memo.route('c');
    memo.route('c');
    expect(computed).toBe(6);
  });
});

describe('RouteMemo bounds', () => {
  it('keeps no long pattern strings, however many map to a handler', () => {
    const memo = new RouteMemo(
      (p) => p.trim(),
      () => true,
    );
    for (let i = 0; i < 100; i++) memo.route(`${' '.repeat(2000 + i)}sum`);
    expect(memo.size).toEqual({ entries: 0, bytes: 0 });
  });

  it('stops growing at its byte bound', () => {
    const memo = new RouteMemo(
      (p) => p.trim(),
      () => true,
      { maxBytes: 10_000, maxEntries: 1_000_000 },
    );
    for (let i = 0; i < 1000; i++) memo.route(`${' '.repeat(i % 500)}sum${i}`);
    expect(memo.size.bytes).toBeLessThanOrEqual(10_000);
    expect(memo.size.entries).toBeGreaterThan(0);
    expect(memo.route('   sum7')).toBe('sum7');
  });
});
