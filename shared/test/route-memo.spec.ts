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
