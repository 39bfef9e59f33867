/**
 * A chunk: consecutive records of one partition, processed together, written
 * in one sink call and committed as one step.
 *
 * @example
 * const chunk = processChunk({ ...batch, nextOffset: "42" }, records, processor);
 * chunk.writes.length + chunk.dead.length + chunk.skipped.length === records.length; // true
 */
import type { DeadLetter } from "./dead-letter.ts";
import type { Processor, SourceRecord } from "./record.ts";
import { errorMessage } from "../errors.ts";

export interface Chunk<T> {
  topic: string;
  partition: number;
  /** The source's assignment epoch when the chunk was consumed. */
  epoch: number;
  records: SourceRecord[];
  /** The offset to commit once the chunk is durable (see SourceBatch.nextOffset). */
  nextOffset: string;
  writes: { record: SourceRecord; item: T }[];
  dead: DeadLetter[];
  /** Records deliberately dropped (still committed). */
  skipped: SourceRecord[];
  /** Bytes of the records' keys and values. */
  bytes: number;
  /** performance.now() at consumption, for commit latency. */
  consumedAt: number;
  /** The partition's pause generation at consumption (see partition-rewind.ts); a chunk from before a pause is handed back. */
  generation?: number;
}

export function processChunk<T>(
  where: { topic: string; partition: number; epoch: number; nextOffset: string },
  records: SourceRecord[],
  processor: Processor<T>,
): Chunk<T> {
  const { topic, partition, epoch, nextOffset } = where;
  const chunk: Chunk<T> = { topic, partition, epoch, nextOffset, records, writes: [], dead: [], skipped: [], bytes: 0, consumedAt: performance.now() };
  for (const record of records) {
    chunk.bytes += record.size;
    let outcome;
    try {
      outcome = processor(record);
    } catch (error) {
      outcome = { kind: "dead" as const, reason: `processor failed: ${errorMessage(error)}`, stage: "process" };
    }
    if (outcome.kind === "write") chunk.writes.push({ record, item: outcome.item });
    else if (outcome.kind === "dead") chunk.dead.push({ record, reason: outcome.reason, stage: outcome.stage });
    else chunk.skipped.push(record);
  }
  return chunk;
}

/** The dead letter with the lowest offset: where a run stopped on errors must start again. */
export function earliest(letters: DeadLetter[]): DeadLetter | undefined {
  let first: DeadLetter | undefined;
  for (const letter of letters) if (!first || BigInt(letter.record.offset) < BigInt(first.record.offset)) first = letter;
  return first;
}
