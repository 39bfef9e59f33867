/**
 * The caught-up watcher: for --until-caught-up runs, polls the group's lag
 * over this member's partitions while nothing is queued or being written,
 * and reports when it reaches zero.
 *
 * @example
 * await watchCaughtUp({ source, idle: () => queue.size === 0 && inFlight === 0, onCaughtUp: () => stop("caught-up"), ... });
 */
import { sleep } from "../backoff.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { EngineEvents } from "./events.ts";
import type { Source } from "./source.ts";

export interface CaughtUpOptions {
  source: Source;
  /** True while no chunk is queued, being written or waiting for a commit. */
  idle: () => boolean;
  onCaughtUp: () => void;
  onLag?: (lag: number) => void;
  events: EngineEvents;
  log: Logger;
  /** Ends the watch. */
  signal: AbortSignal;
  intervalMs?: number;
}

export async function watchCaughtUp(options: CaughtUpOptions): Promise<void> {
  const { source, signal } = options;
  while (!signal.aborted) {
    await sleep(options.intervalMs ?? 500, signal);
    if (signal.aborted || !options.idle() || !source.assignment()) continue;
    try {
      const partitions = await source.partitionLag(true);
      const lag = partitions.reduce((total, p) => total + p.lag, 0);
      options.onLag?.(lag);
      options.events.emit("lag", { lag, partitions });
      if (lag === 0 && options.idle()) {
        options.onCaughtUp();
        return;
      }
    } catch (error) {
      options.log.debug("lag check failed", { error: errorMessage(error) });
    }
  }
}
