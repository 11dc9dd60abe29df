/** Samples this process's RSS every `intervalMs` and keeps the peak since the last reset. */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  reset(): void {
    this.peak = 0;
    this.sample();
  }

  /** Peak and current RSS in MiB. */
  read(): { peakMb: number; currentMb: number } {
    const currentMb = this.sample() / 1048576;
    return { peakMb: this.peak / 1048576, currentMb };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
