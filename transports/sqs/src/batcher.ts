/** Outcome of one entry of a batch call (SendMessageBatch, DeleteMessageBatch…). */
export type EntryResult = { ok: true } | { ok: false; error: unknown; retryable: boolean };

export interface BatcherSettings<T> {
  /** Entries per call (SQS: 10). */
  maxEntries: number;
  /** Sum of `weight` per call (SQS: the message size limit). */
  maxWeight?: number;
  weight?: (item: T) => number;
  /** How long the first entry waits for others; 0 = until the next turn of the event loop. */
  windowMs: number;
  /** Retries of entries that failed for a retryable reason. */
  retries: number;
  /** Calls in flight at most; 1 keeps order from one call to the next (FIFO queues). Default unbounded. */
  maxInFlight?: number;
  /**
   * Keep call order through retries (FIFO queues): a failed entry is retried before anything added
   * after it, and nothing else is sent while it waits for its retry. Default false: it goes to the back.
   */
  ordered?: boolean;
}

interface Pending<T> {
  item: T;
  attempts: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces single operations into batch calls: each `add()` settles with its own entry's
 * outcome, and only failed entries are retried, never the whole batch.
 */
export class Batcher<T> {
  private pending: Pending<T>[] = [];
  private pendingWeight = 0;
  private timer?: NodeJS.Timeout | NodeJS.Immediate;
  private readonly inFlight = new Set<Promise<void>>();
  private retrying = 0;
  /** Ordered mode: entries waiting for their retry, in call order; nothing is sent before they are. */
  private held: Pending<T>[] = [];

  constructor(
    private readonly call: (items: T[]) => Promise<EntryResult[]>,
    private readonly settings: BatcherSettings<T>,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ item, attempts: 0, resolve, reject }));
  }

  /** Sends everything queued and waits for every call (and retry) to settle. */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight.size > 0 || this.retrying > 0) {
      if (this.pending.length > 0) this.dispatch();
      await Promise.race([...this.inFlight, new Promise((r) => setTimeout(r, 10))]);
    }
  }

  private enqueue(entry: Pending<T>): void {
    const weight = this.settings.weight?.(entry.item) ?? 0;
    if (this.settings.maxWeight && this.pending.length > 0 && this.pendingWeight + weight > this.settings.maxWeight) {
      this.dispatch();
    }
    this.pending.push(entry);
    this.pendingWeight += weight;
    if (this.pending.length >= this.settings.maxEntries) this.dispatch();
    else if (!this.timer) {
      const fire = () => {
        this.timer = undefined;
        this.dispatch();
      };
      this.timer = this.settings.windowMs > 0 ? setTimeout(fire, this.settings.windowMs) : setImmediate(fire);
    }
  }

  private dispatch(): void {
    if (this.inFlight.size >= (this.settings.maxInFlight ?? Infinity)) return; // sent when the call in flight settles
    if (this.held.length > 0) return; // ordered: sent after the held retries
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    const batch = this.takeBatch();
    if (batch.length === 0) return;
    const run = this.send(batch).finally(() => {
      this.inFlight.delete(run);
      if (this.pending.length > 0 && !this.timer) this.dispatch();
    });
    this.inFlight.add(run);
  }

  /** The longest prefix of the queue within the entry and weight limits (at least one entry). */
  private takeBatch(): Pending<T>[] {
    const weigh = (p: Pending<T>) => this.settings.weight?.(p.item) ?? 0;
    let count = 0;
    let weight = 0;
    while (count < this.pending.length && count < this.settings.maxEntries) {
      const next = weigh(this.pending[count]);
      if (count > 0 && this.settings.maxWeight && weight + next > this.settings.maxWeight) break;
      weight += next;
      count++;
    }
    const batch = this.pending.splice(0, count);
    this.pendingWeight -= weight;
    return batch;
  }

  private async send(batch: Pending<T>[]): Promise<void> {
    let results: EntryResult[];
    try {
      results = await this.call(batch.map((p) => p.item));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const retries: Pending<T>[] = [];
    batch.forEach((p, i) => {
      const result = results[i] ?? { ok: false, error: new Error('no result for batch entry'), retryable: false };
      if (result.ok) p.resolve();
      else if (result.retryable && p.attempts < this.settings.retries) retries.push(p);
      else p.reject(result.error);
    });
    if (retries.length === 0) return;
    if (this.settings.ordered) this.holdForRetry(retries);
    else for (const p of retries) this.retry(p);
  }

  /** Ordered mode: the failed entries go back to the front, in call order, after a backoff during which nothing is sent. */
  private holdForRetry(retries: Pending<T>[]): void {
    this.held.push(...retries);
    this.retrying++;
    const delay = 20 * 2 ** Math.max(...retries.map((p) => p.attempts));
    setTimeout(() => {
      this.retrying--;
      const again = this.held.splice(0).map((p) => ({ ...p, attempts: p.attempts + 1 }));
      this.pending.unshift(...again);
      this.pendingWeight += again.reduce((sum, p) => sum + (this.settings.weight?.(p.item) ?? 0), 0);
      this.dispatch();
    }, delay);
  }

  private retry(p: Pending<T>): void {
    this.retrying++;
    const delay = 20 * 2 ** p.attempts;
    setTimeout(() => {
      this.retrying--;
      this.enqueue({ ...p, attempts: p.attempts + 1 });
    }, delay);
  }
}
