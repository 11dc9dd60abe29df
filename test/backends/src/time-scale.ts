/**
 * How much slower than an idle machine a test run may be: `TEST_TIME_SCALE` (default 1). Every
 * bound a test waits with is multiplied by it — jest's test and hook timeouts, the conformance
 * scenarios' limits, the waits of the test helpers — so that a loaded machine gets more time in
 * one place. What a test waits for does not change; only how long it waits before failing.
 * Products never read it: their defaults are the same under any scale.
 */
export function testTimeScale(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TEST_TIME_SCALE?.trim();
  if (!raw) return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale < 1) {
    throw new Error(`TEST_TIME_SCALE is "${raw}": use a number of at least 1 (1 leaves every test bound as written, 3 triples each)`);
  }
  return scale;
}

/** `ms`, a bound written for an idle machine, stretched by TEST_TIME_SCALE. */
export function scaled(ms: number): number {
  return Math.round(ms * testTimeScale());
}

/** Settles like `promise`, or rejects once `ms` (times TEST_TIME_SCALE) passed, naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const bound = scaled(ms);
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${bound} ms waiting for ${what}`)), bound);
    }),
  ]);
}
