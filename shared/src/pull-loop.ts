import { sleep } from './async.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import type { HandlerSlots } from './handler-slots.js';

export interface PullLoopSettings<M> {
  slots: HandlerSlots;
  /** Messages asked for per receive, at most. */
  batchSize: number;
  /** One receive call (a long poll, a fetch, an XREADGROUP) for up to `max` messages. */
  receive(max: number, signal: AbortSignal): Promise<M[]>;
  /** Received messages; each holds one slot until the consumer releases it. */
  onMessages(messages: M[]): void;
  /** A receive failed; the loop waits (backoff) and tries again. */
  onError(err: unknown): void;
  /** A receive succeeded after failures: the backend answers again. */
  onHealthy?(): void;
  backoff?: BackoffOptions;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialDelay: 100, maxDelay: 10_000 };

/**
 * The intake of a pull-based broker (SQS long polls, JetStream fetches, Redis `XREADGROUP`):
 * receives only as many messages as there are free handler slots, backs off on errors, and
 * stops at once when asked (an open receive is aborted).
 */
export class PullLoop<M> {
  private readonly abort = new AbortController();
  /** Set by `stop()`: no receive starts after it (the receive under way may finish). */
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;

  constructor(private readonly settings: PullLoopSettings<M>) {}

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops receiving. By default the receive under way is aborted (a quick shutdown); with
   * `{ abort: false }` it may finish, and what it got is passed to `onMessages` as usual (the
   * server then hands back what it will not start), so no message is left with a dead receiver.
   */
  async stop({ abort = true }: { abort?: boolean } = {}): Promise<void> {
    this.stopping.abort();
    if (abort) this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { slots } = this.settings;
    const signal = this.abort.signal;
    const stopping = this.stopping.signal;
    let failures = 0;
    while (!stopping.aborted) {
      const taken = await slots.acquireUpTo(this.settings.batchSize, stopping);
      if (taken === 0) break;
      let messages: M[];
      try {
        messages = await this.settings.receive(taken, signal);
      } catch (err) {
        slots.release(taken);
        if (stopping.aborted) break;
        this.settings.onError(err);
        await sleep(backoffDelay(failures++, this.settings.backoff ?? DEFAULT_BACKOFF), stopping);
        continue;
      }
      if (failures > 0) this.settings.onHealthy?.();
      failures = 0;
      slots.release(taken - messages.length);
      if (messages.length > 0) this.settings.onMessages(messages);
    }
  }
}
