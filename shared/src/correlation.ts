import type { WritePacket } from '@nestjs/microservices';
import { RequestTimeoutError } from './errors.js';

type ReplyCallback = (packet: WritePacket) => void;

interface Entry {
  callback: ReplyCallback;
  /** performance.now() past which the request times out; 0 without a timeout. */
  deadline: number;
  timeout?: { ms: number; pattern: string };
}

/**
 * In-flight requests by correlation id. A reply for an id that is not (or no longer)
 * here is dropped and counted; a final reply (`isDisposed` or `err`) removes the entry.
 *
 * Timeouts share one timer, armed for the earliest deadline: a timer per request costs a
 * `setTimeout`, an `unref` and a `clearTimeout` (each a call into libuv when it is the only one),
 * which at one request in flight is a noticeable part of a round trip. Deadlines are on the
 * monotonic clock, as timers are: a step of the wall clock moves none.
 */
export class CorrelationTable {
  private readonly entries = new Map<string, Entry>();
  private dropped = 0;
  private timer?: NodeJS.Timeout;
  /** The deadline the timer is armed for (0 when it is not). */
  private armedFor = 0;
  private readonly onTimer = () => this.expire();

  get size(): number {
    return this.entries.size;
  }

  /** Replies that arrived for unknown ids (timed out, unsubscribed, or foreign). */
  get droppedReplies(): number {
    return this.dropped;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * Registers a request. With `timeoutMs`, the callback gets a `RequestTimeoutError`
   * when no final reply came in time. Returns the cleanup to call on unsubscribe.
   */
  add(id: string, callback: ReplyCallback, timeout?: { ms: number; pattern: string }): () => void {
    const entry: Entry = { callback, deadline: 0 };
    if (timeout && timeout.ms > 0) {
      entry.deadline = performance.now() + timeout.ms;
      entry.timeout = timeout;
      if (this.armedFor === 0 || entry.deadline < this.armedFor) this.arm(entry.deadline);
    }
    this.entries.set(id, entry);
    return () => this.remove(id, entry);
  }

  /** Delivers a reply; returns false when the id is unknown (the reply is dropped). */
  deliver(id: string, packet: WritePacket): boolean {
    const entry = this.entries.get(id);
    if (!entry) {
      this.dropped++;
      return false;
    }
    if (packet.isDisposed === true) {
      this.entries.delete(id);
      entry.callback(packet);
    } else if (packet.isDisposed || (packet.err !== undefined && packet.err !== null)) {
      this.entries.delete(id);
      entry.callback({ ...packet, isDisposed: true });
    } else {
      entry.callback(packet);
    }
    return true;
  }

  /** Fails every in-flight request with `err` (connection lost, client closed). */
  rejectAll(err: unknown): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.disarm();
    for (const entry of entries) {
      try {
        entry.callback({ err, isDisposed: true });
      } catch {
        // one failing subscriber must not keep the others waiting
      }
    }
  }

  private remove(id: string, entry: Entry): void {
    if (this.entries.get(id) === entry) this.entries.delete(id);
  }

  private arm(deadline: number): void {
    clearTimeout(this.timer);
    this.armedFor = deadline;
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(deadline - performance.now())));
    this.timer.unref?.();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = 0;
  }

  /** Times out the requests whose deadline passed and arms the timer for the next deadline. */
  private expire(): void {
    this.timer = undefined;
    this.armedFor = 0;
    const now = performance.now();
    const due: Entry[] = [];
    let next = 0;
    for (const [id, entry] of this.entries) {
      if (entry.deadline === 0) continue;
      if (entry.deadline <= now) {
        this.entries.delete(id);
        due.push(entry);
      } else if (next === 0 || entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next !== 0) this.arm(next);
    for (const entry of due) {
      const { ms, pattern } = entry.timeout!;
      try {
        entry.callback({ err: new RequestTimeoutError(pattern, ms), isDisposed: true });
      } catch (err) {
        // as a timer of its own would have: the failure is uncaught, the other requests still time out
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }
}
