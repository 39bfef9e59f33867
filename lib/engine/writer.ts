/**
 * The writer: makes one chunk durable (sink write, dead letters), with
 * retries, under the run's commit strategy.
 *
 * - `offsets`: the sink writes, refused records go to the dead-letter topic;
 *   the committer then commits the group's offset.
 * - `transaction`: dead letters go out first, then the sink writes the items
 *   and moves the group's offset in one transaction. Before its first chunk
 *   of a partition in an assignment, the writer claims the partition (fencing
 *   the producer of any member that owned it before) and then drops records
 *   below the group's committed offset: a fenced member's last transaction
 *   may have committed them after this member fetched.
 *
 * Under onError "stop" the first record that cannot be made durable is the
 * poison: nothing from it on is committed.
 *
 * @example
 * const write = chunkWriter({ sink, deadLetters, onError: "dlq", strategy: "offsets", source, retry, log, events });
 * const outcome = await write(chunk); // { kind: "durable", durable } | { kind: "stopped" } | { kind: "revoked" }
 */
import type { Logger } from "../log/logger.ts";
import { earliest, type Chunk } from "./chunk.ts";
import type { DeadLetter, DeadLetterTopic } from "./dead-letter.ts";
import type { EngineEvents } from "./events.ts";
import { recordRef } from "./record.ts";
import { retryTransient, type RetryContext } from "./retry.ts";
import { isTransactionalSink, SinkFencedError, type Sink, type SinkResult, type TransactionalSink } from "./sink.ts";
import type { Source } from "./source.ts";

export type CommitStrategy = "offsets" | "transaction";

export interface Durable<T> {
  chunk: Chunk<T>;
  written: number;
  duplicates: number;
  dead: DeadLetter[];
  /** With onError "stop": the first record that could not be made durable. */
  poison?: DeadLetter;
  writeMs: number;
  /** Who commits the group's offset: the committer through the source, or the sink's transaction (done if durable). */
  committedBy: "source" | "sink";
}

export type WriteOutcome<T> =
  | { kind: "durable"; durable: Durable<T> }
  /** The run stopped before the chunk was durable: nothing of it is committed. */
  | { kind: "stopped" }
  /** The chunk's partition may belong to another member now: nothing of it is committed. */
  | { kind: "revoked" };

export interface WriterOptions<T> {
  sink: Sink<T> | TransactionalSink<T>;
  deadLetters?: DeadLetterTopic;
  onError: "dlq" | "stop";
  strategy: CommitStrategy;
  source: Source;
  retry: RetryContext;
  log: Logger;
  events: EngineEvents;
  /** Told of each transient failure of a chunk's write (partition pausing). */
  onChunkFailure?: (topic: string, partition: number) => void;
}

/** The retry context for one chunk's writes, counting its failures against its partition. */
function chunkRetry<T>(options: WriterOptions<T>, chunk: Chunk<T>): RetryContext {
  const onFailure = options.onChunkFailure;
  return onFailure ? { ...options.retry, onTransient: () => onFailure(chunk.topic, chunk.partition) } : options.retry;
}

export function chunkWriter<T>(options: WriterOptions<T>): (chunk: Chunk<T>) => Promise<WriteOutcome<T>> {
  if (options.strategy === "transaction") {
    if (!isTransactionalSink(options.sink)) throw new Error(`commit strategy 'transaction' needs a transactional sink; ${options.sink.name} is not`);
    return transactionalWriter(options, options.sink);
  }
  if (isTransactionalSink(options.sink)) throw new Error(`${options.sink.name} writes only in transactions; use commit strategy 'transaction'`);
  return offsetsWriter(options, options.sink);
}

function offsetsWriter<T>(options: WriterOptions<T>, sink: Sink<T>): (chunk: Chunk<T>) => Promise<WriteOutcome<T>> {
  const { source } = options;
  return async (chunk) => {
    if (chunk.epoch !== source.epoch()) return { kind: "revoked" };
    const started = performance.now();
    const items = chunk.writes.map((w) => w.item);
    const result = items.length
      ? await retryTransient(`write to ${sink.name}`, () => timedWrite(options, items.length, () => sink.write(items)), chunkRetry(options, chunk))
      : { written: 0, duplicates: 0, rejected: [] };
    if (result === undefined) return { kind: "stopped" };
    checkAccounted(sink.name, result, chunk.writes.length);
    const dead = [...chunk.dead, ...rejectedLetters(chunk, result)];
    if (dead.length && options.onError === "stop") {
      return durable(chunk, result, [], performance.now() - started, "source", earliest(dead));
    }
    if (dead.length && !(await sendDeadLetters(options, dead))) return { kind: "stopped" };
    return durable(chunk, result, dead, performance.now() - started, "source");
  };
}

function transactionalWriter<T>(options: WriterOptions<T>, sink: TransactionalSink<T>): (chunk: Chunk<T>) => Promise<WriteOutcome<T>> {
  const { source } = options;
  /** Partitions claimed in the current epoch, and from which offset they are new to this member. */
  const claimed = new Map<string, { epoch: number; from: bigint | undefined }>();

  const claim = async (chunk: Chunk<T>) => {
    const key = `${chunk.topic}\u0000${chunk.partition}`;
    const known = claimed.get(key);
    if (known?.epoch === chunk.epoch) return known;
    await retryTransient(`claim ${chunk.topic}/${chunk.partition} for transactions`, () => sink.claim(chunk.topic, chunk.partition), options.retry);
    const committed = await source.committedOffset(chunk.topic, chunk.partition);
    const state = { epoch: chunk.epoch, from: committed === undefined ? undefined : BigInt(committed) };
    claimed.set(key, state);
    return state;
  };

  return async (chunk) => {
    if (chunk.epoch !== source.epoch()) return { kind: "revoked" };
    const started = performance.now();
    const { from } = await claim(chunk);
    if (chunk.epoch !== source.epoch() || options.retry.stopping()) return chunk.epoch !== source.epoch() ? { kind: "revoked" } : { kind: "stopped" };
    const trimmed = from === undefined ? chunk : trimBelow(chunk, from);
    if (trimmed.records.length < chunk.records.length) {
      options.log.info("skipping records a previous owner committed", {
        partition: `${chunk.topic}/${chunk.partition}`,
        records: chunk.records.length - trimmed.records.length,
      });
    }

    if (trimmed.dead.length && options.onError === "stop") {
      return durable(trimmed, { written: 0, duplicates: 0, rejected: [] }, [], performance.now() - started, "sink", earliest(trimmed.dead));
    }
    if (trimmed.dead.length && !(await sendDeadLetters(options, trimmed.dead))) return { kind: "stopped" };

    if (from !== undefined && BigInt(chunk.nextOffset) <= from) return durable(trimmed, { written: 0, duplicates: 0, rejected: [] }, [], 0, "sink");
    const position = { groupId: source.groupId, topic: chunk.topic, partition: chunk.partition, offset: chunk.nextOffset };
    const items = trimmed.writes.map((w) => w.item);
    let rejectedDead: DeadLetter[] = [];
    const sentRejected = new Set<number>();
    let poison: DeadLetter | undefined;
    try {
      const result = await retryTransient(
        `write to ${sink.name} in a transaction`,
        () =>
          timedWrite(options, items.length, () =>
            sink.writeInTransaction(items, position, async (sent) => {
              rejectedDead = rejectedLetters(trimmed, sent);
              if (rejectedDead.length === 0) return;
              if (options.onError === "stop") {
                poison = earliest(rejectedDead);
                throw new PoisonAbort();
              }
              const unsent = rejectedDead.filter((_, i) => !sentRejected.has(sent.rejected[i]!.index));
              if (unsent.length && !(await sendDeadLetters(options, unsent))) throw new PoisonAbort();
              for (const r of sent.rejected) sentRejected.add(r.index);
            }),
          ),
        chunkRetry(options, chunk),
      );
      if (result === undefined) return { kind: "stopped" };
      checkAccounted(sink.name, result, items.length);
      return durable(trimmed, result, [...trimmed.dead, ...rejectedDead], performance.now() - started, "sink");
    } catch (error) {
      if (error instanceof PoisonAbort) {
        return poison ? durable(trimmed, { written: 0, duplicates: 0, rejected: [] }, [], performance.now() - started, "sink", poison) : { kind: "stopped" };
      }
      if (error instanceof SinkFencedError) {
        options.log.warn("partition taken over by another member; its chunk is left to it", {
          partition: `${chunk.topic}/${chunk.partition}`,
          error: error.message,
        });
        claimed.delete(`${chunk.topic}\u0000${chunk.partition}`);
        return { kind: "revoked" };
      }
      throw error;
    }
  };
}

/** Aborts a transaction from inside beforeCommit: a poison record under "stop", or a stop while dead-lettering. */
class PoisonAbort extends Error {
  override name = "PoisonAbort";
}

function trimBelow<T>(chunk: Chunk<T>, from: bigint): Chunk<T> {
  const keep = (offset: string) => BigInt(offset) >= from;
  if (chunk.records.length === 0 || keep(chunk.records[0]!.offset)) return chunk;
  const records = chunk.records.filter((r) => keep(r.offset));
  return {
    ...chunk,
    records,
    writes: chunk.writes.filter((w) => keep(w.record.offset)),
    dead: chunk.dead.filter((d) => keep(d.record.offset)),
    // Skipped records carry no offset; the trimmed part's share is unknown, and they were committed before.
    skipped: records.length === chunk.records.length ? chunk.skipped : 0,
    bytes: records.reduce((sum, r) => sum + r.size, 0),
  };
}

async function timedWrite<T>(options: WriterOptions<T>, records: number, write: () => Promise<SinkResult>): Promise<SinkResult> {
  const started = performance.now();
  try {
    const result = await write();
    options.events.emit("sink.write", { sink: options.sink.name, records, ms: performance.now() - started, ok: true });
    return result;
  } catch (error) {
    options.events.emit("sink.write", { sink: options.sink.name, records, ms: performance.now() - started, ok: false });
    throw error;
  }
}

async function sendDeadLetters<T>(options: WriterOptions<T>, dead: DeadLetter[]): Promise<boolean> {
  const deadLetters = options.deadLetters!;
  const sent = await retryTransient("send to the dead-letter topic", () => deadLetters.send(dead).then(() => true), options.retry);
  if (sent === undefined) return false;
  for (const letter of dead) options.log.warn("dead-lettered", { record: recordRef(letter.record), stage: letter.stage, reason: letter.reason });
  return true;
}

function rejectedLetters<T>(chunk: Chunk<T>, result: SinkResult): DeadLetter[] {
  return result.rejected.map(({ index, reason }) => ({ record: chunk.writes[index]!.record, reason, stage: "sink" }));
}

function checkAccounted(sink: string, result: SinkResult, expected: number): void {
  const accounted = result.written + result.duplicates + result.rejected.length;
  // Committing on a result that leaves records unaccounted for would lose them.
  if (accounted !== expected) throw new Error(`${sink} accounted for ${accounted} of ${expected} records; stopping without committing`);
}

function durable<T>(
  chunk: Chunk<T>,
  result: SinkResult,
  dead: DeadLetter[],
  writeMs: number,
  committedBy: "source" | "sink",
  poison?: DeadLetter,
): WriteOutcome<T> {
  return { kind: "durable", durable: { chunk, written: result.written, duplicates: result.duplicates, dead, poison, writeMs, committedBy } };
}
