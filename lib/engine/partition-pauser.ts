/**
 * Seed 002's partition pausing: a partition whose messages keep failing
 * (`failures` within `windowMs`: dead letters, transient write failures of
 * its chunks) is paused for `pauseMs`, so the source stops fetching it and the
 * other partitions keep flowing; then it resumes, or sooner, as soon as a
 * write of its records succeeds again (the sink is back: after an outage of
 * the whole sink every partition was paused, and waiting out the pause would
 * idle a recovered run for up to `pauseMs`). Nothing is skipped: what was
 * fetched is still made durable before its offset is committed.
 *
 * @example
 * const pauser = partitionPauser({ failures: 5, windowMs: 60_000, pauseMs: 60_000 }, { source, log, events });
 * pauser.failed("orders", 3, 2); // two failures of orders/3
 * pauser.recovered("orders", 3);  // a retried write of orders/3 succeeded: resume it now
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
  /** A write of the partition's records succeeded after failing: resumes it if paused. */
  recovered(topic: string, partition: number): void;
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
  const resume = (topic: string, partition: number, why: string) => {
    const key = `${topic}/${partition}`;
    const timer = timers.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    timers.delete(key);
    context.source.resume(topic, partition);
    context.log.info("resuming a paused partition", { partition: key, reason: why });
  };
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
      const timer = setTimeout(() => resume(topic, partition, "its pause is over"), policy.pauseMs);
      timer.unref?.();
      timers.set(key, timer);
    },
    recovered(topic, partition) {
      resume(topic, partition, "its writes succeed again");
    },
    paused: () => [...timers.keys()],
    close() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
