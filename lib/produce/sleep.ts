/**
 * A wait that ends early, without throwing, when a stop is requested, so
 * loops that pace or back off still stop promptly on SIGINT.
 *
 * @example
 * await sleep(1000, ctx.signal); // resolves after 1 s, or at once on SIGINT
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
