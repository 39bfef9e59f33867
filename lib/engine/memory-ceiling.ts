/**
 * A soft ceiling on the process's resident memory while a pipeline runs.
 *
 * Bun's engine (JavaScriptCore) starts a full collection when its heap has
 * about doubled since the last one, and it counts the buffers a run churns
 * through (fetch responses, BSON commands) only loosely. Measured on
 * kafka2mongo with 1 KB messages: live memory stays near 130 MB, yet RSS
 * climbs to 260-280 MB between collections. Asking for a full collection when
 * RSS passes the ceiling keeps the peak near 200 MB for about 0.4 collections
 * a second and no measurable CPU (bench/peak-rss.ts).
 *
 * A run whose live data really is larger than the ceiling does not collect
 * over and over: after a collection that leaves RSS above the ceiling, the
 * next one waits until RSS has grown by another quarter.
 *
 * Runtimes without a collector hook (Deno without --expose-gc) get no
 * ceiling; their own collector's heuristics apply.
 *
 * @example
 * const ceiling = memoryCeiling({ softLimitBytes: 180 * 1024 * 1024 });
 * // ... run ...
 * ceiling.stop();
 */

export interface MemoryCeilingOptions {
  softLimitBytes: number;
  /** How often RSS is read. */
  everyMs?: number;
  /** Resident set size now; process.memoryUsage.rss by default. */
  rss?: () => number;
  /** A full, synchronous collection; Bun.gc(true) by default, none where the runtime has no hook. */
  collect?: () => void;
}

export interface MemoryCeiling {
  /** Checks once; the timer calls this every `everyMs`. */
  check(): void;
  /** Collections asked for so far. */
  readonly collections: number;
  stop(): void;
}

/** Default ceiling: under the 256 MB budget with room for one collection's lag. */
export const DEFAULT_MEMORY_SOFT_LIMIT_BYTES = 180 * 1024 * 1024;

export function memoryCeiling(options: MemoryCeilingOptions): MemoryCeiling {
  const rss = options.rss ?? (() => process.memoryUsage.rss());
  const collect = options.collect ?? runtimeCollector();
  let threshold = options.softLimitBytes;
  let collections = 0;
  const ceiling: MemoryCeiling = {
    check() {
      if (!collect || rss() <= threshold) return;
      collect();
      collections++;
      const after = rss();
      threshold = after > options.softLimitBytes ? after * 1.25 : options.softLimitBytes;
    },
    get collections() {
      return collections;
    },
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(ceiling.check, options.everyMs ?? 250);
  timer.unref?.();
  return ceiling;
}

function runtimeCollector(): (() => void) | undefined {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  return bun ? () => bun.gc(true) : undefined;
}
