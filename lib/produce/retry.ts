/**
 * Retries with exponential backoff (seed 003: an initial delay doubled on
 * each attempt, a maximum number of retries). Stops retrying once the
 * signal is aborted and returns the last error.
 *
 * @example
 * await retryWithBackoff(() => producer.send(record), {
 *   retries: 3, initialDelayMs: 1000, maxDelayMs: 30_000,
 *   onRetry: (attempt, delayMs, error) => log.warn("retrying", { attempt, delayMs, error }),
 * });
 */
import { sleep } from "../backoff.ts";

export interface RetryOptions {
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  signal?: AbortSignal;
  /** False for errors that fail the same way every time; those are not retried. */
  isRetriable?: (error: unknown) => boolean;
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Delay before retry number `attempt` (1-based). */
export function backoffDelayMs(attempt: number, initialDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
}

export async function retryWithBackoff<T>(action: () => Promise<T>, options: RetryOptions): Promise<T> {
  const wait = options.wait ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt > options.retries || options.signal?.aborted || options.isRetriable?.(error) === false) throw error;
      const delayMs = backoffDelayMs(attempt, options.initialDelayMs, options.maxDelayMs);
      options.onRetry?.(attempt, delayMs, error);
      await wait(delayMs, options.signal);
    }
  }
}
