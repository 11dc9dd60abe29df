export interface BackoffOptions {
  /** First delay in ms. */
  initialDelay: number;
  /** Ceiling in ms. */
  maxDelay: number;
  /** Growth per attempt. */
  factor?: number;
}

/**
 * Exponential backoff with jitter: attempt n waits a random time between half and all of
 * min(maxDelay, initialDelay * factor^n), so reconnecting clients spread out but still back off.
 */
export function backoffDelay(attempt: number, { initialDelay, maxDelay, factor = 2 }: BackoffOptions, random = Math.random): number {
  const ceiling = Math.min(maxDelay, initialDelay * factor ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
