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
 * A member fenced on a partition (another member initialized its
 * transactional id) has lost it for the rest of the assignment epoch: its
 * later chunks of that partition are handed back, never re-claimed, so a
 * zombie that wakes up with stale chunks cannot fence the rightful owner in
 * turn. The rebalance its rejoining causes gives the partition a fresh epoch.
 *
 * With a job's {@link PartitionState}, the writer restores it when it takes a
 * partition in an epoch, writes its extra items with each chunk and commits
 * its metadata with the chunk's offset (see partition-state.ts); flushState()
 * writes what a clean stop leaves (partial summaries).
 *
 * @example
 * const write = chunkWriter({ sink, deadLetters, onError: "dlq", strategy: "offsets", source, retry, log, events });
 * const outcome = await write(chunk); // { kind: "durable", durable } | { kind: "stopped" } | { kind: "revoked" }
 */
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { earliest, type Chunk } from "./chunk.ts";
import type { DeadLetter, DeadLetterTopic } from "./dead-letter.ts";
import type { EngineEvents } from "./events.ts";
import type { PartitionState, StateStep } from "./partition-state.ts";
import { recordRef } from "./record.ts";
import type { PartitionRewind } from "./partition-rewind.ts";
import { retryTransient, type RetryContext } from "./retry.ts";
import { isTransactionalSink, SinkFencedError, type Sink, type SinkResult, type TransactionalSink } from "./sink.ts";
import type { CommittedOffset, Source } from "./source.ts";

export type CommitStrategy = "offsets" | "transaction";

export interface Durable<T> {
  chunk: Chunk<T>;
  written: number;
  duplicates: number;
  dead: DeadLetter[];
  /** With onError "stop": the first record that could not be made durable. */
  poison?: DeadLetter;
  writeMs: number;
  /** Committed with the chunk's offset (the job's partition state); undefined: none. */
  metadata?: string;
  /** Who commits the group's offset: the committer through the source, or the sink's transaction (done if durable). */
  committedBy: "source" | "sink";
}

export type WriteOutcome<T> =
  | { kind: "durable"; durable: Durable<T> }
  /** The run stopped, or the chunk's partition was paused, before the chunk was durable: nothing of it is committed. */
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
  /** Told of each transient failure of a chunk's write (partition pausing)... */
  onChunkFailure?: (topic: string, partition: number) => void;
  /** ...and of a chunk's write succeeding after such failures. */
  onChunkRecovered?: (topic: string, partition: number) => void;
  /** Level of the line logged per dead letter; "debug" where errors are an expected output (process-events). */
  deadLetterLogLevel?: "warn" | "debug";
  /** A job's per-partition state, committed as offset metadata. Needs onError "dlq" and one writer. */
  state?: PartitionState<T>;
  /** Partition pausing: a chunk's retries stop once its partition is paused (the engine hands it back), and share the partition's outage clock. */
  rewind?: Pick<PartitionRewind, "signal" | "stale" | "outage">;
}

export interface ChunkWriter<T> {
  write(chunk: Chunk<T>): Promise<WriteOutcome<T>>;
  /** At a clean stop: writes and commits what the partition state leaves for each owned partition. */
  flushState(): Promise<void>;
}

/** The retry context for one chunk's writes, counting its failures and its recovery against its partition. */
function chunkRetry<T>(options: WriterOptions<T>, chunk: Chunk<T>): RetryContext {
  const { onChunkFailure, onChunkRecovered, rewind, retry } = options;
  return {
    ...retry,
    ...(rewind
      ? {
          signal: rewind.signal(chunk),
          stopping: () => retry.stopping() || rewind.stale(chunk),
          outage: rewind.outage(chunk.topic, chunk.partition),
        }
      : {}),
    ...(onChunkFailure ? { onTransient: () => onChunkFailure(chunk.topic, chunk.partition) } : {}),
    ...(onChunkRecovered ? { onRecovered: () => onChunkRecovered(chunk.topic, chunk.partition) } : {}),
  };
}

export function chunkWriter<T>(options: WriterOptions<T>): ChunkWriter<T> {
  if (options.strategy === "transaction") {
    if (!isTransactionalSink(options.sink)) throw new Error(`commit strategy 'transaction' needs a transactional sink; ${options.sink.name} is not`);
    return transactionalWriter(options, options.sink);
  }
  if (isTransactionalSink(options.sink)) throw new Error(`${options.sink.name} writes only in transactions; use commit strategy 'transaction'`);
  return offsetsWriter(options, options.sink);
}

/** Where each partition stands for this writer in an epoch: restored state and the next offset to commit. */
interface Taken {
  epoch: number;
  /** The committed next offset at the take, then each written chunk's; undefined: nothing committed yet. */
  next: string | undefined;
  /** Fenced by another member: lost until the next epoch. */
  lost?: boolean;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function offsetsWriter<T>(options: WriterOptions<T>, sink: Sink<T>): ChunkWriter<T> {
  const { source, state } = options;
  const taken = new Map<string, Taken>();

  /** Restores the partition state from what is committed, once per partition and epoch. */
  const take = async (topic: string, partition: number, epoch: number): Promise<Taken> => {
    const key = partitionKey(topic, partition);
    const known = taken.get(key);
    if (known?.epoch === epoch) return known;
    const committed = await source.committedOffset(topic, partition);
    state?.restore(topic, partition, committed);
    const fresh = { epoch, next: committed?.offset };
    taken.set(key, fresh);
    return fresh;
  };

  const write = async (chunk: Chunk<T>): Promise<WriteOutcome<T>> => {
    if (chunk.epoch !== source.epoch()) return { kind: "revoked" };
    const started = performance.now();
    const position = state ? await take(chunk.topic, chunk.partition, chunk.epoch) : undefined;
    const step = state?.prepare(chunk);
    const items = withStateItems(chunk, step);
    // The processor's dead letters go out while the sink writes (one round trip less per
    // chunk); both are durable before the offset is committed. Under "stop" they are poison.
    const early = options.onError === "dlq" && chunk.dead.length ? sendDeadLetters(options, chunk.dead) : undefined;
    early?.catch(() => {}); // awaited below; a sink failure first must not leave it unhandled
    const result = items.length
      ? await retryTransient(`write to ${sink.name}`, () => timedWrite(options, items.length, () => sink.write(items)), chunkRetry(options, chunk))
      : { written: 0, duplicates: 0, rejected: [] };
    if (result === undefined) return { kind: "stopped" };
    checkAccounted(sink.name, result, items.length);
    const rejected = rejectedLetters(chunk, result);
    const dead = [...chunk.dead, ...rejected];
    if (dead.length && options.onError === "stop") {
      return durable(chunk, result, [], performance.now() - started, "source", earliest(dead));
    }
    if (early && !(await early)) return { kind: "stopped" };
    if (rejected.length && !(await sendDeadLetters(options, rejected))) return { kind: "stopped" };
    step?.apply();
    if (position) position.next = chunk.nextOffset;
    return durable(chunk, result, dead, performance.now() - started, "source", undefined, step?.metadata);
  };

  const flushState = async () => {
    await flushOwned(options, async (topic, partition, epoch) => {
      const position = await take(topic, partition, epoch);
      const step = position.next === undefined ? undefined : state!.flush(topic, partition);
      if (!step) return;
      if (step.items.length) await sink.write(step.items);
      await source.commit({ topic, partition, offset: position.next!, metadata: step.metadata });
      step.apply();
    });
  };
  return { write, flushState };
}

/** The chunk's items followed by the state's (summaries). */
function withStateItems<T>(chunk: Chunk<T>, step: StateStep<T> | undefined): T[] {
  const items = chunk.writes.map((w) => w.item);
  if (step?.items.length) items.push(...step.items);
  return items;
}

/** Runs `flush` for every partition this member owns now; a failure leaves the state in the committed metadata. */
async function flushOwned<T>(options: WriterOptions<T>, flush: (topic: string, partition: number, epoch: number) => Promise<void>): Promise<void> {
  if (!options.state) return;
  const epoch = options.source.epoch();
  for (const [topic, partitions] of Object.entries(options.source.assignment() ?? {})) {
    for (const partition of partitions) {
      try {
        await flush(topic, partition, epoch);
      } catch (error) {
        options.log.warn("could not flush the partition's state at stop; the next run resumes it from the committed offset", {
          partition: `${topic}/${partition}`,
          error: errorMessage(error),
        });
      }
    }
  }
}

function transactionalWriter<T>(options: WriterOptions<T>, sink: TransactionalSink<T>): ChunkWriter<T> {
  const { source, state } = options;
  /** Partitions claimed in the current epoch: from which offset they are new to this member, or lost to another. */
  const claimed = new Map<string, Taken>();

  const claim = async (topic: string, partition: number, epoch: number): Promise<Taken> => {
    const key = partitionKey(topic, partition);
    const known = claimed.get(key);
    if (known?.epoch === epoch) return known;
    await retryTransient(`claim ${topic}/${partition} for transactions`, () => sink.claim(topic, partition), options.retry);
    // Read only after the claim: the fenced owner's last transaction is complete by now.
    const committed: CommittedOffset | undefined = await source.committedOffset(topic, partition);
    state?.restore(topic, partition, committed);
    const fresh = { epoch, next: committed?.offset };
    claimed.set(key, fresh);
    return fresh;
  };

  const write = async (chunk: Chunk<T>): Promise<WriteOutcome<T>> => {
    if (chunk.epoch !== source.epoch()) return { kind: "revoked" };
    const started = performance.now();
    const taken = await claim(chunk.topic, chunk.partition, chunk.epoch);
    if (taken.lost) return { kind: "revoked" };
    if (chunk.epoch !== source.epoch() || options.retry.stopping()) return chunk.epoch !== source.epoch() ? { kind: "revoked" } : { kind: "stopped" };
    const from = taken.next === undefined ? undefined : BigInt(taken.next);
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
    // Letters go in the transaction when the sink takes them; otherwise first, at least once.
    const inTransaction = sink.deadLetterTopic !== undefined;
    if (!inTransaction && trimmed.dead.length && !(await sendDeadLetters(options, trimmed.dead))) return { kind: "stopped" };

    if (from !== undefined && BigInt(chunk.nextOffset) <= from) return durable(trimmed, { written: 0, duplicates: 0, rejected: [] }, [], 0, "sink");
    const step = state?.prepare(trimmed);
    const position = { groupId: source.groupId, topic: chunk.topic, partition: chunk.partition, offset: chunk.nextOffset, metadata: step?.metadata };
    const items = withStateItems(trimmed, step);
    let rejectedDead: DeadLetter[] = [];
    const sentRejected = new Set<number>();
    let poison: DeadLetter | undefined;
    try {
      const result = await retryTransient(
        `write to ${sink.name} in a transaction`,
        () =>
          timedWrite(options, items.length, () =>
            sink.writeInTransaction(
              items,
              position,
              async (sent) => {
                rejectedDead = rejectedLetters(trimmed, sent);
                if (rejectedDead.length === 0) return;
                if (options.onError === "stop") {
                  poison = earliest(rejectedDead);
                  throw new PoisonAbort();
                }
                const unsent = rejectedDead.filter((_, i) => !sentRejected.has(sent.rejected[i]!.index));
                if (unsent.length && !(await sendDeadLetters(options, unsent))) throw new PoisonAbort();
                for (const r of sent.rejected) sentRejected.add(r.index);
              },
              inTransaction ? trimmed.dead : undefined,
            ),
          ),
        chunkRetry(options, chunk),
      );
      if (result === undefined) return { kind: "stopped" };
      checkAccounted(sink.name, result, items.length);
      step?.apply();
      taken.next = chunk.nextOffset;
      if (inTransaction) for (const letter of trimmed.dead) logDeadLetter(options, letter);
      return durable(trimmed, result, [...trimmed.dead, ...rejectedDead], performance.now() - started, "sink", undefined, step?.metadata);
    } catch (error) {
      if (error instanceof PoisonAbort) {
        return poison ? durable(trimmed, { written: 0, duplicates: 0, rejected: [] }, [], performance.now() - started, "sink", poison) : { kind: "stopped" };
      }
      if (error instanceof SinkFencedError) {
        options.log.warn("partition taken over by another member; leaving it to that member until the next rebalance", {
          partition: `${chunk.topic}/${chunk.partition}`,
          error: error.message,
        });
        // Never re-claimed in this epoch: that would fence the owner in turn (see above).
        taken.lost = true;
        return { kind: "revoked" };
      }
      throw error;
    }
  };

  const flushState = async () => {
    await flushOwned(options, async (topic, partition, epoch) => {
      const taken = await claim(topic, partition, epoch);
      if (taken.lost || taken.next === undefined) return;
      const step = state!.flush(topic, partition);
      if (!step) return;
      const position = { groupId: source.groupId, topic, partition, offset: taken.next, metadata: step.metadata };
      await sink.writeInTransaction(step.items, position, async () => {});
      step.apply();
    });
  };
  return { write, flushState };
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
    skipped: chunk.skipped.filter((r) => keep(r.offset)),
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
  for (const letter of dead) logDeadLetter(options, letter);
  return true;
}

function logDeadLetter<T>(options: WriterOptions<T>, letter: DeadLetter): void {
  const level = options.deadLetterLogLevel ?? "warn";
  if (options.log.enabled(level)) options.log[level]("dead-lettered", { record: recordRef(letter.record), stage: letter.stage, reason: letter.reason });
}

function rejectedLetters<T>(chunk: Chunk<T>, result: SinkResult): DeadLetter[] {
  return result.rejected.map(({ index, reason }) => {
    const write = chunk.writes[index];
    // Past the chunk's own items come the partition state's (summaries); they belong to no record.
    if (!write) throw new Error(`the sink refused an item of the partition state: ${reason}`);
    return { record: write.record, reason, stage: "sink" };
  });
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
  metadata?: string,
): WriteOutcome<T> {
  return { kind: "durable", durable: { chunk, written: result.written, duplicates: result.duplicates, dead, poison, writeMs, committedBy, metadata } };
}
