/** Counts handlers in flight; pollers take slots before they receive, so nothing is fetched that cannot start. */
export class Slots {
  private free: number;
  private waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    this.free = capacity;
  }

  get inUse(): number {
    return this.capacity - this.free;
  }

  /** Waits until at least one slot is free, then takes up to `max`; resolves 0 when `signal` aborts. */
  async acquireUpTo(max: number, signal: AbortSignal): Promise<number> {
    while (this.free === 0) {
      if (signal.aborted) return 0;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve();
        };
        this.waiters.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    if (signal.aborted) return 0;
    const taken = Math.min(max, this.free);
    this.free -= taken;
    return taken;
  }

  release(count = 1): void {
    if (count <= 0) return;
    this.free = Math.min(this.capacity, this.free + count);
    for (const wake of this.waiters.splice(0)) wake();
  }
}
