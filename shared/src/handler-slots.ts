import { setMaxListeners } from 'node:events';

/**
 * The one concurrency limit of a brokered server (`maxConcurrency`): how many messages it holds
 * at once. A pull intake (a poll loop) takes slots before it receives, so it never fetches what
 * it cannot start; a push intake (a streaming pull, a push endpoint) takes one per message.
 * Waiters are served in arrival order; an aborted wait gives up.
 */
export class HandlerSlots {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    this.free = capacity;
  }

  get inUse(): number {
    return this.capacity - this.free;
  }

  /** Takes a slot now if one is free. */
  tryAcquire(): boolean {
    if (this.free === 0 || this.waiters.length > 0) return false;
    this.free--;
    return true;
  }

  /** Waits for one slot; resolves false (holding nothing) when `signal` aborts first. */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    return (await this.acquireUpTo(1, signal)) === 1;
  }

  /** Waits until at least one slot is free, then takes up to `max`; resolves 0 when `signal` aborts first. */
  async acquireUpTo(max: number, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return 0;
    if (this.free === 0 || this.waiters.length > 0) {
      const woken = await new Promise<boolean>((resolve) => {
        const onAbort = () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(false);
        };
        // A slot released to a waiter is handed over: `free` is not incremented for it.
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        };
        this.waiters.push(wake);
        // Every waiter listens to the same signal (one per message waiting): no MaxListenersExceededWarning.
        if (signal) setMaxListeners(0, signal);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (!woken) return 0;
      const more = Math.min(max - 1, this.free);
      this.free -= more;
      return 1 + more;
    }
    const taken = Math.min(max, this.free);
    this.free -= taken;
    return taken;
  }

  release(count = 1): void {
    for (let i = 0; i < count; i++) {
      const next = this.waiters.shift();
      if (next) next();
      else this.free = Math.min(this.capacity, this.free + 1);
    }
  }
}
