/**
 * Keeps the messages a server holds from being redelivered while their handlers run (a JetStream
 * `working()` ack, a Redis `XCLAIM`, a visibility extension): every interval `renew` gets all of
 * them at once. One timer for all of them, running only while something is held.
 */
export class Renewal<T> {
  private readonly held = new Set<T>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly renew: (held: T[]) => void | Promise<void>,
    private intervalMs = 10_000,
  ) {}

  /** Sets the interval (ms) for the next timer started. */
  setInterval(ms: number): void {
    this.intervalMs = ms;
  }

  /** Holds `item` until the returned stop is called. */
  keep(item: T): () => void {
    this.held.add(item);
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs).unref();
    return () => {
      this.held.delete(item);
      if (this.held.size === 0) this.stop();
    };
  }

  get size(): number {
    return this.held.size;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    try {
      await this.renew([...this.held]);
    } catch {
      // `renew` reports its own failures; a renewal that fails leaves the message to the broker's redelivery
    }
  }
}
