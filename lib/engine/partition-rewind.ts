/**
 * What pausing a partition does to the chunks of it already consumed, so a
 * paused partition frees the writers and the queue for the others without
 * losing or skipping anything.
 *
 * Each partition has a pause generation, bumped when it is paused. A chunk
 * remembers the generation it was consumed in; once that is stale:
 * - a writer retrying it stops (its retry signal is aborted) and hands it back;
 * - a queued one is handed back when a writer takes it, without a write;
 * - the committer commits nothing of its generation after a chunk handed
 *   back, even if it became durable: a commit never jumps over a handed-back
 *   chunk. Handed-back records count as returned, like a revoked chunk's.
 * On resume the source seeks the partition back to the offset after the last
 * chunk the committer accepted in this assignment epoch (or, if none, to the
 * first offset this member consumed in it), so the handed-back records are
 * read again in the new generation. The resume waits until the committer has
 * settled every chunk of the partition consumed before (a sink call in flight
 * at the pause), so that offset is final. While paused, batches of the
 * partition are refused.
 *
 * Each partition also has one outage clock shared by all its chunks' retries,
 * so handing chunks back does not restart it: a partition whose writes never
 * succeed still ends the run at --max-outage.
 *
 * @example
 * const rewind = partitionRewind({ source, log, signal, committedPosition: (t, p) => committer.position(t, p) });
 * partitionPauser(policy, { source: rewind, log, events }); // pauses and resumes through it
 * chunk.generation = rewind.generation(chunk.topic, chunk.partition);
 * if (rewind.stale(chunk)) handBack(chunk);
 */
import type { Logger } from "../log/logger.ts";
import type { Chunk } from "./chunk.ts";
import type { OutageClock } from "./retry.ts";
import type { Source } from "./source.ts";

export interface PartitionRewind {
  /** Bumps the partition's generation, aborts its chunks' retries, and stops fetching it. */
  pause(topic: string, partition: number): void;
  /** Seeks the partition back to what was accepted for commit, then fetches it again. */
  resume(topic: string, partition: number): void;
  assignment: Source["assignment"];
  isPaused(topic: string, partition: number): boolean;
  generation(topic: string, partition: number): number;
  /** True once the chunk's partition was paused after it was consumed. */
  stale(chunk: Chunk<unknown>): boolean;
  /** Aborted when the chunk's partition is paused, or the run stops. */
  signal(chunk: Chunk<unknown>): AbortSignal;
  /** Notes the first offset this member consumed of a partition in an epoch: where a rewind goes when nothing was committed. */
  consumed(topic: string, partition: number, epoch: number, offset: string): void;
  /** The partition's outage clock, shared by its chunks' retries. */
  outage(topic: string, partition: number): OutageClock;
}

interface PartitionEntry {
  generation: number;
  paused: boolean;
  /** Aborted at the next pause; with the run's signal. */
  controller: AbortController;
  signal: AbortSignal;
  first?: { epoch: number; offset: string };
  outage: OutageClock;
}

export function partitionRewind(context: {
  source: Source;
  log: Logger;
  /** The run's stop signal. */
  signal: AbortSignal;
  /** The next offset after the last chunk accepted for commit in the current epoch; undefined: none. */
  committedPosition: (topic: string, partition: number) => string | undefined;
  /** Chunks of the partition the committer has not settled yet. */
  outstanding: (topic: string, partition: number) => number;
  /** How often a resume waiting for chunks to settle looks again, ms. */
  settleCheckMs?: number;
}): PartitionRewind {
  const { source } = context;
  const entries = new Map<string, PartitionEntry>();
  const fresh = (generation: number, outage: OutageClock = {}): PartitionEntry => {
    const controller = new AbortController();
    return { generation, paused: false, controller, signal: AbortSignal.any([context.signal, controller.signal]), outage };
  };
  const entry = (topic: string, partition: number): PartitionEntry => {
    const key = `${topic}\u0000${partition}`;
    let found = entries.get(key);
    if (!found) entries.set(key, (found = fresh(0)));
    return found;
  };
  const stale = (chunk: Chunk<unknown>) => (chunk.generation ?? 0) !== entry(chunk.topic, chunk.partition).generation;
  let aborted: AbortSignal | undefined;

  const rewind: PartitionRewind = {
    pause(topic, partition) {
      const key = `${topic}\u0000${partition}`;
      const old = entry(topic, partition);
      old.controller.abort();
      entries.set(key, { ...fresh(old.generation + 1, old.outage), paused: true, first: old.first });
      source.pause(topic, partition);
    },
    resume(topic, partition) {
      const current = entry(topic, partition);
      if (!current.paused || context.signal.aborted) return;
      if (context.outstanding(topic, partition) > 0) {
        // Paused again meanwhile: that pause's own resume takes over.
        const retry = setTimeout(() => entry(topic, partition) === current && rewind.resume(topic, partition), context.settleCheckMs ?? 20);
        retry.unref?.();
        return;
      }
      current.paused = false;
      const first = current.first?.epoch === source.epoch() ? current.first.offset : undefined;
      const from = context.committedPosition(topic, partition) ?? first;
      // Nothing consumed in this epoch: nothing was handed back, and the fetch position is the committed offset.
      if (from !== undefined) {
        source.seek(topic, partition, from);
        context.log.info("reading a paused partition again from its committed position", { partition: `${topic}/${partition}`, offset: from });
      }
      source.resume(topic, partition);
    },
    assignment: () => source.assignment(),
    isPaused: (topic, partition) => entry(topic, partition).paused,
    generation: (topic, partition) => entry(topic, partition).generation,
    stale,
    signal(chunk) {
      if (!stale(chunk)) return entry(chunk.topic, chunk.partition).signal;
      aborted ??= AbortSignal.abort();
      return aborted;
    },
    consumed(topic, partition, epoch, offset) {
      const current = entry(topic, partition);
      if (current.first?.epoch !== epoch) current.first = { epoch, offset };
    },
    outage: (topic, partition) => entry(topic, partition).outage,
  };
  return rewind;
}
