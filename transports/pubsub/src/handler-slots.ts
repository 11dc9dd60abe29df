/**
 * Bounds the handlers running at once. The Pub/Sub library's flow control counts a message
 * until its ack has been sent (batched, then one Acknowledge round trip), not until its handler
 * is done: used as the handler limit, it leaves handlers idle while acks are in flight. The
 * server gives the library room for that many acks on top, and holds handlers to the limit here.
 */
export class HandlerSlots {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    this.free = capacity;
  }

  /** Handlers running. */
  get inUse(): number {
    return this.capacity - this.free;
  }

  /** Takes a slot now if one is free. */
  tryAcquire(): boolean {
    if (this.free === 0) return false;
    this.free--;
    return true;
  }

  /** Waits for a slot; waiters are served in arrival order. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next)
      next(); // the slot passes straight to the next waiter
    else this.free = Math.min(this.capacity, this.free + 1);
  }
}
