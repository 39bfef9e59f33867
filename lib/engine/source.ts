/**
 * What the engine needs from an input, and nothing more: run with a batch
 * handler, commit positions, measure lag, stop, tell of a crash and of
 * rebalances. The Kafka implementation is lib/sources/kafka.ts; the engine's
 * unit tests use an in-memory one.
 *
 * Assignment epochs: the epoch changes whenever this member's partitions may
 * have changed (a rebalance began or ended). A chunk consumed in an epoch that
 * is no longer current may belong to a partition another member now owns, so
 * the engine never commits it; the partition's owner reads it again.
 *
 * @example
 * await source.run(async (batch) => { queue(batch.records); return batch.records.length; });
 */
import type { SourceRecord } from "./record.ts";

export interface SourceBatch {
  topic: string;
  partition: number;
  /** In offset order; empty for a fetch that held only transaction markers or aborted records. */
  records: SourceRecord[];
  /**
   * The offset to commit once the whole batch is durable: past its last
   * record, and past transaction markers or aborted records after it, so a
   * group on a transactional topic reaches the end.
   */
  nextOffset: string;
  /** The assignment epoch the batch was fetched in. */
  epoch: number;
  /** Keeps this member in its group while the handler waits. */
  heartbeat(): Promise<void>;
  /** False once the source is stopping or a rebalance began. */
  isActive(): boolean;
}

/**
 * Handles a batch; returns how many of its records (a prefix) it took. The
 * source fetches the rest again later. An empty batch must be handled without
 * waiting.
 */
export type BatchHandler = (batch: SourceBatch) => Promise<number>;

export interface CommitRequest {
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: string;
  /** Stored with the offset (see PartitionState); absent: none. */
  metadata?: string;
}

/** A partition's committed next offset and the metadata committed with it ("" when none). */
export interface CommittedOffset {
  offset: string;
  metadata: string;
}

export type Assignment = Record<string, number[]>;

/** Messages a group still has to read in one partition. */
export interface PartitionLagEntry {
  topic: string;
  partition: number;
  lag: number;
}

export interface Source {
  readonly name: string;
  readonly groupId: string;
  readonly topics: string[];
  /** Starts feeding batches to `handler`, one at a time, until {@link Source.stop}; resolves once started. */
  run(handler: BatchHandler): Promise<void>;
  commit(request: CommitRequest): Promise<void>;
  /** The group's committed next offset of a partition and its metadata, from the broker; undefined if none. */
  committedOffset(topic: string, partition: number): Promise<CommittedOffset | undefined>;
  /** Total lag from the broker's committed and end offsets, of this member's partitions or of all. */
  lag(onlyAssigned?: boolean): Promise<number>;
  /** The same lag, per partition. */
  partitionLag(onlyAssigned?: boolean): Promise<PartitionLagEntry[]>;
  /** Partitions this member owns, by topic; undefined until the group is joined. */
  assignment(): Assignment | undefined;
  /** See "Assignment epochs" above. */
  epoch(): number;
  /** Called once if the source fails for good. */
  onCrash(listener: (error: Error) => void): void;
  /** Called after every (re)assignment. */
  onAssignment(listener: (assignment: Assignment) => void): void;
  /** Stops fetching a partition until resumed; what was fetched is still handled. */
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  /**
   * Moves a partition's fetch position: the next batch starts at `offset`.
   * A batch fetched before sees isActive() false. The engine rewinds a
   * paused partition this way to what it committed, so the chunks it handed
   * back are read again and nothing is skipped.
   */
  seek(topic: string, partition: number, offset: string): void;
  /** Stops fetching; a batch handler in progress sees isActive() false. */
  stop(): Promise<void>;
  close(): Promise<void>;
}
