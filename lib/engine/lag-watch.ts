/**
 * The lag watcher: measures the group's lag over this member's partitions
 * every `intervalMs` for as long as the run lasts, busy or idle, for the
 * terminal's status line (lag, time left to catch up) and the per-partition
 * lag metric. The caught-up watcher (caught-up.ts) decides when a
 * --until-caught-up run ends; this one only reports.
 *
 * @example
 * const watching = watchLag({ source, events, onLag: (lag) => progress.setLag(lag), log, signal, intervalMs: 10_000 });
 */
import { sleep } from "../backoff.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { EngineEvents } from "./events.ts";
import type { Source } from "./source.ts";

export interface LagWatchOptions {
  source: Source;
  events: EngineEvents;
  onLag: (lag: number) => void;
  log: Logger;
  /** Ends the watch. */
  signal: AbortSignal;
  intervalMs: number;
}

export async function watchLag(options: LagWatchOptions): Promise<void> {
  const { source, signal } = options;
  // The first measurement soon after the group is joined, so a long catch-up shows its lag from the start.
  let delay = Math.min(options.intervalMs, 1_000);
  while (!signal.aborted) {
    await sleep(delay, signal);
    if (signal.aborted) return;
    if (!source.assignment()) {
      delay = Math.min(options.intervalMs, 1_000);
      continue;
    }
    delay = options.intervalMs;
    try {
      const partitions = await source.partitionLag(true);
      const lag = partitions.reduce((total, p) => total + p.lag, 0);
      options.onLag(lag);
      options.events.emit("lag", { lag, partitions });
    } catch (error) {
      options.log.debug("lag measurement failed", { error: errorMessage(error) });
    }
  }
}
