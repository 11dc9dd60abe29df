import * as hdr from 'hdr-histogram-js';

/** Latency histogram in microseconds (HdrHistogram, 3 significant digits); reports in ms. */
export class LatencyHistogram {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });

  /** Records a duration in milliseconds (fractional). */
  recordMs(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  percentileMs(p: number): number {
    return this.histogram.totalCount ? this.histogram.getValueAtPercentile(p) / 1000 : 0;
  }

  reset(): void {
    this.histogram.reset();
  }
}
