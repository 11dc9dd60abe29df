import type { JsMsg } from '@nats-io/jetstream';

/**
 * Keeps held messages from being redelivered while their handlers run: every third of the
 * consumer's `ack_wait` each held message gets a `working()` (in progress) ack, which restarts its
 * ack timer. One timer for all of them, running only while something is held.
 */
export class LeaseKeeper {
  private readonly held = new Set<JsMsg>();
  private timer?: NodeJS.Timeout;
  private intervalMs = 10_000;

  /** Sets the interval from the consumer's ack wait (ms). */
  setAckWait(ackWaitMs: number): void {
    this.intervalMs = Math.max(100, Math.floor(ackWaitMs / 3));
  }

  /** Holds `message` until the returned stop is called. */
  keep(message: JsMsg): () => void {
    this.held.add(message);
    this.timer ??= setInterval(() => this.renew(), this.intervalMs).unref();
    return () => {
      this.held.delete(message);
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

  private renew(): void {
    for (const message of this.held) {
      try {
        message.working();
      } catch {
        // the connection is gone; the message is redelivered after ack_wait, as it would be anyway
      }
    }
  }
}
