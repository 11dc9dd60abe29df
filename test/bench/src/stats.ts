export function median(values: number[]): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Distribution-free confidence interval of the median: order statistics x(k) and x(n+1−k), with k
 * the largest such that P(Binomial(n, ½) < k) ≤ (1 − confidence) ÷ 2. No assumption about the
 * shape of the rounds' distribution (a bimodal backend included). Below 6 values no k ≥ 1 reaches
 * 95%: the interval is then the full range.
 */
export function medianInterval(values: number[], confidence = 0.95): { lo: number; hi: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (!n) return { lo: 0, hi: 0 };
  const alpha = (1 - confidence) / 2;
  let k = 1;
  let tail = 0; // P(X ≤ k − 1)
  let term = 0.5 ** n; // C(n, i) ÷ 2^n, starting at i = 0
  for (let i = 0; i < n >> 1; i++) {
    tail += term;
    if (tail > alpha) break;
    k = i + 1;
    term = (term * (n - i)) / (i + 1);
  }
  k = Math.min(k, (n + 1) >> 1);
  return { lo: sorted[k - 1], hi: sorted[n - k] };
}
