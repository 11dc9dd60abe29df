import type { LoggerService } from '@nestjs/common';
import type { SqsOperations } from './operations.js';

/**
 * Keeps a message invisible while its handler runs: every half visibility timeout it asks
 * for another full one, until `maxSeconds` after it was received.
 */
export class VisibilityKeeper {
  private readonly active = new Set<() => void>();

  constructor(
    private readonly ops: SqsOperations,
    private readonly logger: LoggerService,
    private readonly maxSeconds: number,
  ) {}

  /** Returns the function that stops extending (call it when the message is settled). */
  keep(queueUrl: string, receiptHandle: string, visibilitySeconds: number): () => void {
    if (visibilitySeconds <= 0) return () => undefined;
    const started = Date.now();
    const everyMs = Math.max(250, (visibilitySeconds * 1000) / 2);
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const extend = () => {
      if (stopped) return;
      const elapsed = (Date.now() - started) / 1000;
      const seconds = Math.min(visibilitySeconds, Math.floor(this.maxSeconds - elapsed));
      if (seconds <= 0) return;
      this.ops
        .changeVisibility(queueUrl, receiptHandle, seconds)
        .catch((err) => this.logger.warn?.(`SqsServer: could not extend the visibility of a message: ${(err as Error).message}`));
      timer = setTimeout(extend, everyMs);
    };
    timer = setTimeout(extend, everyMs);
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      this.active.delete(stop);
    };
    this.active.add(stop);
    return stop;
  }

  /** Stops every extension (the server closed: what it still holds comes back after its visibility timeout). */
  stopAll(): void {
    for (const stop of [...this.active]) stop();
  }
}
