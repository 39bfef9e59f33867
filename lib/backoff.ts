/**
 * Exponential backoff with full jitter, cancellable by an AbortSignal.
 *
 * @example
 * const delay = backoffDelay(attempt, { initialMs: 200, maxMs: 10_000 });
 * await sleep(delay, signal);
 */

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based): random in [d/2, d], d = min(max, initial * 2^attempt). */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** attempt);
  const random = options.random ?? Math.random;
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
