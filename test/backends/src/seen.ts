/** Values a test's handlers report; `wait(n)` resolves once n have arrived, `waitFor(match)` once one matches; both fail after `ms`. */
export class Seen<T = unknown> {
  readonly items: T[] = [];
  private readonly waiters = new Set<{ ready: () => boolean; done: () => void }>();

  add = (item: T): void => {
    this.items.push(item);
    for (const w of this.waiters) if (w.ready()) this.waiters.delete(w), w.done();
  };

  wait(n: number, ms = 10_000, what = `${n} values`): Promise<T[]> {
    return this.until(() => this.items.length >= n, ms, what);
  }

  /** Counts nothing: resolves on the value itself, whether it came before or after the call. */
  waitFor(match: (item: T) => boolean, ms = 10_000, what = 'a matching value'): Promise<T[]> {
    return this.until(() => this.items.some(match), ms, what);
  }

  private async until(ready: () => boolean, ms: number, what: string): Promise<T[]> {
    if (ready()) return this.items;
    let timer: NodeJS.Timeout | undefined;
    const waiter = { ready, done: () => undefined as void };
    try {
      await new Promise<void>((resolve, reject) => {
        waiter.done = resolve;
        this.waiters.add(waiter);
        timer = setTimeout(
          () => reject(new Error(`timed out after ${ms} ms waiting for ${what}; seen so far: ${JSON.stringify(this.items).slice(0, 300)}`)),
          ms,
        );
      });
    } finally {
      clearTimeout(timer);
      this.waiters.delete(waiter);
    }
    return this.items;
  }
}
