/**
 * Seed 002's partition pausing: a partition whose messages keep failing
 * (`failures` within `windowMs`: dead letters, transient write failures of
 * its chunks) is paused for `pauseMs`, so the source stops fetching it and
 * the other partitions keep flowing: the engine hands back its chunks being
 * written or queued, freeing the writers and the queue (see
 * partition-rewind.ts), and reads them again from the committed position
 * when it resumes. Nothing is skipped.
 *
 * The last partition of the assignment still flowing is never paused:
 * pausing it would free nothing for anyone, and its retries are what notice
 * that the sink is back (and what ends a run at --max-outage). When any
 * partition's write succeeds after failing, every paused partition resumes
 * at once rather than at the end of its pause: after an outage of the whole
 * sink, waiting out the pause would idle a recovered run for up to `pauseMs`.
 *
 * @example
 * const pauser = partitionPauser({ failures: 5, windowMs: 60_000, pauseMs: 60_000 }, { source, log, events });
 * pauser.failed("orders", 3, 2); // two failures of orders/3
 * pauser.recovered("orders", 3);  // a retried write of orders/3 succeeded: resume every paused partition now
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
  /** A write of the partition's records succeeded after failing: the sink is back, every paused partition resumes. */
  recovered(topic: string, partition: number): void;
  /** Partitions paused now, as "topic/partition". */
  paused(): string[];
  /** Cancels pending resumes (the source is stopping anyway). */
  close(): void;
}

export function partitionPauser(
  policy: PausePolicy,
  context: { source: Pick<Source, "pause" | "resume" | "assignment">; log: Logger; events: EngineEvents; now?: () => number },
): PartitionPauser {
  const now = context.now ?? (() => performance.now());
  const failures = new Map<string, number[]>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Whether another partition of the assignment would still flow with this one paused. */
  const othersFlow = (key: string) => {
    const assignment = context.source.assignment();
    if (!assignment) return true;
    return Object.entries(assignment).some(([topic, partitions]) => partitions.some((p) => `${topic}/${p}` !== key && !timers.has(`${topic}/${p}`)));
  };
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
      if (times.length < policy.failures || !othersFlow(key)) return;
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
      const recovered = `${topic}/${partition}`;
      for (const key of [...timers.keys()]) {
        const at = key.lastIndexOf("/");
        resume(key.slice(0, at), Number(key.slice(at + 1)), key === recovered ? "its writes succeed again" : `writes of ${recovered} succeed again`);
      }
    },
    paused: () => [...timers.keys()],
    close() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
