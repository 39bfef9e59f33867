/**
 * The engine's instrumentation: typed events, as kafkajs's instrumentation
 * events are, so metrics (Prometheus, logs, tests) attach without touching
 * the engine. Listeners run synchronously and must not throw; one that does
 * is detached rather than allowed to stop a pipeline.
 *
 * @example
 * const events = new EngineEvents();
 * events.on("chunk.committed", (e) => committedTotal.inc(e.records));
 * events.on("sink.write", (e) => writeSeconds.observe(e.ms / 1000));
 * await runPipeline({ ..., events });
 */

import type { PartitionLagEntry } from "./source.ts";

export interface ChunkCommittedEvent {
  topic: string;
  partition: number;
  records: number;
  written: number;
  duplicates: number;
  deadLettered: number;
  skipped: number;
  bytes: number;
  /** Time the sink took to make the chunk durable (with retries), ms. */
  writeMs: number;
  /** From consumption to commit, ms. */
  latencyMs: number;
}

export interface EngineEventMap {
  /** A chunk's records are committed (offsets committed, or its transaction committed). */
  "chunk.committed": ChunkCommittedEvent;
  /** One sink write attempt finished. */
  "sink.write": { sink: string; records: number; ms: number; ok: boolean };
  /** A sink or dead-letter write failed; `transient` ones are retried. */
  "sink.error": { sink: string; what: string; transient: boolean; error: string };
  /** A transient failure will be retried after `delayMs`. */
  retry: { what: string; attempt: number; delayMs: number; outageMs: number; error: string };
  /** An offset commit: to the source, or in the sink's transaction (then `ms` is 0: it was part of the write). */
  commit: { topic: string; partition: number; offset: string; ok: boolean; ms: number; error?: string };
  /** Chunks consumed before a rebalance, for partitions this member may have lost, are not committed. */
  "chunk.revoked": { topic: string; partition: number; records: number };
  /** The group's lag over this member's partitions, in total and per partition. */
  lag: { lag: number; partitions: PartitionLagEntry[] };
  /** Chunks and bytes waiting between the consumer and the writers. */
  "queue.depth": { chunks: number; bytes: number };
  /** A partition whose messages keep failing is paused, or resumes. */
  "partition.paused": { topic: string; partition: number; untilMs: number; failures: number };
}

export type EngineEventName = keyof EngineEventMap;
export type EngineListener<K extends EngineEventName> = (event: EngineEventMap[K]) => void;

export class EngineEvents {
  private readonly listeners = new Map<EngineEventName, Set<(event: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends EngineEventName>(name: K, listener: EngineListener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<K extends EngineEventName>(name: K, event: EngineEventMap[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as EngineListener<K>)(event);
      } catch {
        set.delete(listener);
      }
    }
  }

  /** True if anyone listens, so costly event fields are computed only then. */
  has(name: EngineEventName): boolean {
    return (this.listeners.get(name)?.size ?? 0) > 0;
  }
}
