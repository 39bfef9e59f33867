/**
 * Rate limiting for producers: how long to wait before the next batch so the
 * average rate never runs ahead of the target. Scheduling against the start
 * time, rather than sleeping a fixed interval, absorbs slow sends.
 *
 * @example
 * const wait = pacingDelayMs({ startedAt: 0, now: 250, sent: 500, ratePerSec: 1000 }); // 250
 * batchSizeForRate(50); // 5: about ten batches a second
 */

export interface PacingState {
  startedAt: number;
  now: number;
  /** Messages handed to the producer so far. */
  sent: number;
  ratePerSec: number;
}

export function pacingDelayMs({ startedAt, now, sent, ratePerSec }: PacingState): number {
  return Math.max(0, startedAt + (sent * 1000) / ratePerSec - now);
}

/** A batch size that keeps a rate-limited stream smooth: ~10 batches per second, at most `max`. */
export function batchSizeForRate(ratePerSec: number, max = 1000): number {
  return Math.max(1, Math.min(max, Math.round(ratePerSec / 10)));
}

/** Seed 003 paces by `interval_ms` between batches of `batch_size`; the same as a rate. */
export function rateFromInterval(intervalMs: number, batchSize: number): number {
  return (batchSize * 1000) / intervalMs;
}
