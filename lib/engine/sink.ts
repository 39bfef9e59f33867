/**
 * The contract every output implements. Adding a sink (MongoDB, Kafka, SQL)
 * means one file that implements {@link Sink}; the engine does the rest.
 *
 * Retries: after a {@link TransientSinkError} the engine calls `write` again
 * with the same items, in the same order, and the same objects (a sink may
 * remember which of them an earlier attempt already made durable). Items are
 * made before the first attempt, so ids fixed in them stay fixed.
 *
 * @example
 * const sink: Sink<Doc> = {
 *   name: "mongodb",
 *   async write(items) { await insert(items); return { written: items.length, duplicates: 0, rejected: [] }; },
 *   async close() {},
 * };
 */
import type { DeadLetter } from "./dead-letter.ts";

export interface SinkResult {
  /** Items newly made durable. */
  written: number;
  /** Items already durable from an earlier delivery (idempotent redelivery). */
  duplicates: number;
  /** Items the sink refuses for good, by index in the batch; they go to the dead-letter topic. */
  rejected: { index: number; reason: string }[];
}

export interface Sink<T> {
  readonly name: string;
  /**
   * Makes every item durable, or reports it as duplicate or rejected. Must
   * resolve only when the items are durable. Throw {@link TransientSinkError}
   * for outages the engine should wait out; any other error stops the run.
   */
  write(items: T[]): Promise<SinkResult>;
  close(): Promise<void>;
}

/** Where a source partition's consumption stands: `offset` is the next one to read. */
export interface SourcePosition {
  groupId: string;
  topic: string;
  partition: number;
  offset: string;
  /** Committed with the offset (a job's partition state); absent: none. */
  metadata?: string;
}

/**
 * A sink that can make a chunk's items durable and move the consumer group's
 * offset in one atomic transaction (the `transaction` commit strategy): a
 * reader that sees only committed data sees each input's outputs exactly once.
 */
export interface TransactionalSink<T> {
  readonly name: string;
  /**
   * Takes over the transactions of a source partition, fencing whatever
   * producer wrote them before (a member that lost the partition). Called
   * before the first write of a partition in each assignment.
   */
  claim(topic: string, partition: number): Promise<void>;
  /**
   * Writes `items` and commits `position` in one transaction. `beforeCommit`
   * runs inside it once the items are sent, with their result (the engine
   * dead-letters rejected items there, or throws to abort). Throws
   * {@link SinkFencedError} if another member owns the partition now.
   */
  writeInTransaction(
    items: T[],
    position: SourcePosition,
    beforeCommit: (result: SinkResult) => Promise<void>,
    letters?: DeadLetter[],
  ): Promise<SinkResult>;
  /**
   * Set when the sink writes dead letters inside its transactions (to this
   * topic): the writer then hands a chunk's letters to writeInTransaction,
   * so they are committed exactly once with the outputs and the offset.
   */
  readonly deadLetterTopic?: string;
  close(): Promise<void>;
}

/** The sink is unreachable or overloaded; retrying the same batch later may succeed. */
export class TransientSinkError extends Error {
  override name = "TransientSinkError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A newer owner of the source partition fenced this member's transactions; its chunk is not committed. */
export class SinkFencedError extends Error {
  override name = "SinkFencedError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isTransactionalSink<T>(sink: Sink<T> | TransactionalSink<T>): sink is TransactionalSink<T> {
  return typeof (sink as TransactionalSink<T>).writeInTransaction === "function";
}
