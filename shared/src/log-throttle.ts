import type { LoggerService } from '@nestjs/common';

type Level = 'error' | 'warn' | 'log';

/**
 * Logs a kind of event at most once per interval, and says how many like it were left out:
 * a poison message redelivered in a loop or a flood of foreign messages must not flood the log.
 * At most `maxKinds` kinds are tracked (the oldest is forgotten), so the state stays bounded.
 */
export class LogThrottle {
  private readonly kinds = new Map<string, { last: number; suppressed: number }>();

  constructor(
    private readonly logger: LoggerService,
    private readonly intervalMs = 10_000,
    private readonly maxKinds = 200,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `message()` unless `kind` was logged within the interval; returns whether it logged. */
  log(level: Level, kind: string, message: () => string): boolean {
    const now = this.now();
    const state = this.kinds.get(kind);
    if (state && now - state.last < this.intervalMs) {
      state.suppressed++;
      return false;
    }
    const suppressed = state?.suppressed ?? 0;
    this.kinds.delete(kind);
    if (this.kinds.size >= this.maxKinds) this.kinds.delete(this.kinds.keys().next().value as string);
    this.kinds.set(kind, { last: now, suppressed: 0 });
    const more = suppressed > 0 ? ` (${suppressed} more like it in the last ${Math.round((now - (state?.last ?? now)) / 1000)} s not logged)` : '';
    const text = message() + more;
    if (level === 'error') this.logger.error(text);
    else if (level === 'warn') (this.logger.warn ?? this.logger.log).call(this.logger, text);
    else this.logger.log(text);
    return true;
  }
}
