import type { LoggerService } from '@nestjs/common';
import type { SqsOperations } from './operations.js';

interface Held {
  queueUrl: string;
  receiptHandle: string;
  visibilitySeconds: number;
  started: number;
  /** When its visibility is next extended. */
  due: number;
}

/**
 * Keeps messages invisible while their handlers run: every half visibility timeout it asks for
 * another full one, until `maxSeconds` after the message was received.
 *
 * One timer for all of them, not one per message: the messages held for the same timeout are
 * due in the order they were received, so each group is a Set in that order and the timer waits
 * for the earliest head. Settling a message only removes it from its Set.
 */
export class VisibilityKeeper {
  /** Held messages by extension interval (ms), earliest due first. */
  private readonly groups = new Map<number, Set<Held>>();
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;

  constructor(
    private readonly ops: SqsOperations,
    private readonly logger: LoggerService,
    private readonly maxSeconds: number,
  ) {}

  /** Returns the function that stops extending (call it when the message is settled). */
  keep(queueUrl: string, receiptHandle: string, visibilitySeconds: number): () => void {
    if (visibilitySeconds <= 0) return () => undefined;
    const everyMs = Math.max(250, (visibilitySeconds * 1000) / 2);
    const now = Date.now();
    const held: Held = { queueUrl, receiptHandle, visibilitySeconds, started: now, due: now + everyMs };
    let group = this.groups.get(everyMs);
    if (!group) this.groups.set(everyMs, (group = new Set()));
    group.add(held);
    if (held.due < this.timerAt) this.arm(held.due);
    return () => void group.delete(held);
  }

  /** Stops every extension (the server closed: what it still holds comes back after its visibility timeout). */
  stopAll(): void {
    this.groups.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.extendDue, Math.max(0, at - Date.now()));
  }

  private readonly extendDue = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [everyMs, group] of this.groups) {
      // Those due within a tenth of the interval go now too (a little early is harmless): one wake-up serves many.
      const horizon = now + Math.min(1000, everyMs / 10);
      const due: Held[] = [];
      for (const held of group) {
        if (held.due > horizon) break;
        due.push(held);
      }
      for (const held of due) {
        group.delete(held);
        const seconds = Math.min(held.visibilitySeconds, Math.floor(this.maxSeconds - (now - held.started) / 1000));
        if (seconds <= 0) continue; // held for maxSeconds: no more extensions
        this.ops
          .changeVisibility(held.queueUrl, held.receiptHandle, seconds)
          .catch((err) => this.logger.warn?.(`SqsServer: could not extend the visibility of a message: ${(err as Error).message}`));
        held.due = now + everyMs;
        group.add(held); // the latest due now: the Set stays in due order
      }
      const head = group.values().next();
      if (head.done) this.groups.delete(everyMs);
      else next = Math.min(next, head.value.due);
    }
    if (next < Infinity) this.arm(next);
  };
}
