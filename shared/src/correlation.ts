import type { WritePacket } from '@nestjs/microservices';
import { RequestTimeoutError } from './errors.js';

type ReplyCallback = (packet: WritePacket) => void;

interface Entry {
  callback: ReplyCallback;
  timer?: NodeJS.Timeout;
}

/**
 * In-flight requests by correlation id. A reply for an id that is not (or no longer)
 * here is dropped and counted; a final reply (`isDisposed` or `err`) removes the entry.
 */
export class CorrelationTable {
  private readonly entries = new Map<string, Entry>();
  private dropped = 0;

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
    const entry: Entry = { callback };
    if (timeout && timeout.ms > 0) {
      entry.timer = setTimeout(() => {
        if (this.entries.get(id) !== entry) return;
        this.entries.delete(id);
        callback({ err: new RequestTimeoutError(timeout.pattern, timeout.ms), isDisposed: true });
      }, timeout.ms);
      entry.timer.unref?.();
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
    const final = Boolean(packet.isDisposed || (packet.err !== undefined && packet.err !== null));
    if (final) this.remove(id, entry);
    entry.callback(final ? { ...packet, isDisposed: true } : packet);
    return true;
  }

  /** Fails every in-flight request with `err` (connection lost, client closed). */
  rejectAll(err: unknown): void {
    const entries = [...this.entries.values()];
    for (const entry of entries) if (entry.timer) clearTimeout(entry.timer);
    this.entries.clear();
    for (const entry of entries) {
      try {
        entry.callback({ err, isDisposed: true });
      } catch {
        // one failing subscriber must not keep the others waiting
      }
    }
  }

  private remove(id: string, entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    if (this.entries.get(id) === entry) this.entries.delete(id);
  }
}
