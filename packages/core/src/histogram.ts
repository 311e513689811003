/**
 * A latency histogram of fixed size, no dependency: log-linear buckets over whole microseconds.
 * Values below 32 µs each have their own bucket; above, every power of two is cut into 16
 * buckets, so a percentile read from it is within 1/16 (6.25 %) of the true value. Values over
 * 2^31 µs (about 36 minutes) are counted in the last bucket (read as the largest value seen). 448 counters, 3.5 KiB, whatever
 * the number of values recorded; recording is a few integer operations and no allocation.
 */

/** Bucket count: 32 linear buckets, then 16 per power of two from 2^5 to 2^30. */
export const HISTOGRAM_BUCKETS = 32 + 26 * 16;
const LARGEST = 2 ** 31 - 1;

/** Latency figures in milliseconds; zeros when nothing was recorded. */
export interface LatencySummary {
  /** Values recorded. */
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  /** The largest value recorded (exact). */
  readonly max: number;
}

/** The bucket of a value in whole microseconds (0 ≤ us ≤ 2^31 - 1). */
function bucketOf(us: number): number {
  if (us < 32) return us;
  const exponent = 31 - Math.clz32(us); // 5..30
  return 32 + (exponent - 5) * 16 + ((us >>> (exponent - 4)) & 15);
}

/** The smallest value, in µs, of bucket `index`. */
function bucketFloor(index: number): number {
  if (index < 32) return index;
  const exponent = 5 + ((index - 32) >> 4);
  return (16 + ((index - 32) & 15)) * 2 ** (exponent - 4);
}

/** A fixed-size log-linear histogram of durations (see the file's header). */
export class LatencyHistogram {
  private readonly counts = new Float64Array(HISTOGRAM_BUCKETS);
  private count = 0;
  private sumUs = 0;
  private maxMs = 0;

  /** Records one duration, in milliseconds (negative and NaN count as 0). */
  record(ms: number): void {
    const us = ms > 0 ? (ms * 1000 < LARGEST ? Math.floor(ms * 1000) : LARGEST) : 0;
    this.counts[bucketOf(us)]!++;
    this.count++;
    this.sumUs += us;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /**
   * The value under which a fraction `q` (0..1) of the recorded values lie, in ms: the middle of
   * the bucket that holds it. 0 when nothing was recorded.
   */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        if (i === HISTOGRAM_BUCKETS - 1) return this.maxMs;
        const low = bucketFloor(i);
        const high = i + 1 < HISTOGRAM_BUCKETS ? bucketFloor(i + 1) : low;
        return Math.min(this.maxMs, (low + high) / 2 / 1000);
      }
    }
    return this.maxMs;
  }

  /** Count, mean, p50, p90, p99, p99.9 and max, in ms. */
  summary(): LatencySummary {
    return {
      count: this.count,
      mean: this.count === 0 ? 0 : this.sumUs / this.count / 1000,
      p50: this.percentile(0.5),
      p90: this.percentile(0.9),
      p99: this.percentile(0.99),
      p999: this.percentile(0.999),
      max: this.maxMs,
    };
  }
}
