/**
 * Seed 002's partition pausing: a partition whose messages keep failing
 * (`failures` within `windowMs`: dead letters, transient write failures of
 * its chunks) is paused for `pauseMs`, so the source stops fetching it and the
 * other partitions keep flowing; then it resumes. Nothing is skipped: what
 * was fetched is still made durable before its offset is committed.
 *
 * @example
 * const pauser = partitionPauser({ failures: 5, windowMs: 60_000, pauseMs: 60_000 }, { source, log, events });
 * pauser.failed("orders", 3, 2); // two failures of orders/3
 */
import type { Logger } from "../log/logger.ts";
import type { EngineEvents } from "./events.ts";
import type { Source } from "./source.ts";

export interface PausePolicy {
  /** Failures within the window that pause a partition. */
  failures: number;
  windowMs: number;
  /** How long a partition stays paused. */
  pauseMs: number;
}

/** Seed 002's defaults: 5 errors, then a minute's pause. */
export const DEFAULT_PAUSE_POLICY: PausePolicy = { failures: 5, windowMs: 60_000, pauseMs: 60_000 };

export interface PartitionPauser {
  /** Records `count` failures of a partition; pauses it at the threshold. */
  failed(topic: string, partition: number, count?: number): void;
  /** Partitions paused now, as "topic/partition". */
  paused(): string[];
  /** Cancels pending resumes (the source is stopping anyway). */
  close(): void;
}

export function partitionPauser(
  policy: PausePolicy,
  context: { source: Pick<Source, "pause" | "resume">; log: Logger; events: EngineEvents; now?: () => number },
): PartitionPauser {
  const now = context.now ?? (() => performance.now());
  const failures = new Map<string, number[]>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  return {
    failed(topic, partition, count = 1) {
      const key = `${topic}/${partition}`;
      if (timers.has(key) || count <= 0) return;
      const since = now() - policy.windowMs;
      const times = (failures.get(key) ?? []).filter((t) => t > since);
      for (let i = 0; i < count; i++) times.push(now());
      failures.set(key, times);
      if (times.length < policy.failures) return;
      failures.delete(key);
      context.source.pause(topic, partition);
      context.log.warn("pausing a partition whose messages keep failing", {
        partition: key,
        failures: times.length,
        window_ms: policy.windowMs,
        pause_ms: policy.pauseMs,
      });
      context.events.emit("partition.paused", { topic, partition, untilMs: Date.now() + policy.pauseMs, failures: times.length });
      const timer = setTimeout(() => {
        timers.delete(key);
        context.source.resume(topic, partition);
        context.log.info("resuming a paused partition", { partition: key });
      }, policy.pauseMs);
      timer.unref?.();
      timers.set(key, timer);
    },
    paused: () => [...timers.keys()],
    close() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
