/**
 * State a job keeps per source partition that must move with the
 * partition's committed offset (process-events' summary windows): it is
 * committed as the offset's metadata, in the same commit or Kafka
 * transaction, so whoever owns the partition next resumes exactly the state
 * that belongs to the committed offset, after a kill -9 or a rebalance.
 *
 * The writer drives it, one chunk at a time per partition (the engine then
 * writes with one writer):
 * - restore: when this member (re)takes a partition in an assignment, after
 *   fencing any previous owner, with what is committed;
 * - prepare: before a chunk's write, the extra items to write with it and the
 *   metadata to commit with its offset. It must not change the state (a
 *   retried or fenced write calls it again, or never applies it);
 * - apply: once the chunk's write (and, under transactions, its commit) went
 *   through, the prepared state becomes current;
 * - flush: when a run stops cleanly, a partition's last items (a partial
 *   summary) with the metadata that goes with the same offset.
 *
 * @example
 * const state: PartitionState<KafkaOutput> = {
 *   restore(topic, partition, committed) { windows.restore(topic, partition, committed) },
 *   prepare(chunk) { const next = windows.after(chunk); return { items: next.summaries, metadata: next.metadata, apply: () => windows.set(next) } },
 *   flush(topic, partition) { ... },
 * };
 */
import type { Chunk } from "./chunk.ts";
import type { CommittedOffset } from "./source.ts";

/** What a chunk (or a flush) adds: items to write with it, metadata for its offset, and how to make it current. */
export interface StateStep<T> {
  items: T[];
  metadata: string;
  apply(): void;
}

export interface PartitionState<T> {
  restore(topic: string, partition: number, committed: CommittedOffset | undefined): void;
  prepare(chunk: Chunk<T>): StateStep<T>;
  /** undefined: nothing to flush for this partition. */
  flush(topic: string, partition: number): StateStep<T> | undefined;
}
