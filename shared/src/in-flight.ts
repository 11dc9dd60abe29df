/**
 * Work a transport has started and not finished, so that `close()` can stop intake and
 * then wait for it (bounded), instead of cutting handlers off mid-way.
 */
export class InFlightTracker {
  private readonly tasks = new Set<Promise<unknown>>();

  get size(): number {
    return this.tasks.size;
  }

  track<T>(task: Promise<T>): Promise<T> {
    const settled = task.then(
      () => undefined,
      () => undefined,
    );
    this.tasks.add(settled);
    void settled.then(() => this.tasks.delete(settled));
    return task;
  }

  /** Resolves true once everything tracked has settled, false if `timeoutMs` passed first. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref?.();
    });
    try {
      while (this.tasks.size > 0) {
        const done = await Promise.race([Promise.all([...this.tasks]).then(() => true as const), timedOut]);
        if (!done) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
