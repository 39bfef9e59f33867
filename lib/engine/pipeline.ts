/**
 * The at-least-once streaming engine shared by every pipeline tool:
 * Kafka source → processor → sink, with a dead-letter route.
 *
 * The commit rule: a source offset is committed only after its record is
 * durable in the sink, in the dead-letter topic, or deliberately skipped.
 * Consuming and writing overlap: kafkajs fetches the next batch while the
 * writer loop makes the previous chunk durable, through a bounded queue that
 * keeps memory flat and stalls the consumer (heartbeating) when the sink is slow
 * or down.
 *
 * @example
 * const summary = await runPipeline({
 *   source, processor: toDocument, sink: mongoSink, deadLetters: dlq,
 *   onError: "dlq", batchSize: 500, untilCaughtUp: true, log, logInterval: 1000, signal,
 * });
 */
import type { EachBatchPayload } from "kafkajs";
import type { Logger } from "../log/logger.ts";
import { createProgress } from "../log/progress.ts";
import { BoundedQueue } from "./bounded-queue.ts";
import { CommitOrder } from "./commit-order.ts";
import type { DeadLetter, DeadLetterTopic } from "./dead-letter.ts";
import type { KafkaSource } from "./kafka-source.ts";
import { recordRef, toSourceRecord, type Outcome, type Processor, type SourceRecord } from "./record.ts";
import { backoffDelay, sleep, type BackoffOptions } from "../backoff.ts";
import { TransientSinkError, type Sink } from "./sink.ts";

export interface PipelineOptions<T> {
  source: KafkaSource;
  processor: Processor<T>;
  /**
   * Awaited before each chunk is processed, for what the processor needs and
   * cannot fetch synchronously (the Avro schemas its messages name). A
   * rejection stops the run with that error; nothing of the chunk is committed.
   */
  prepare?: (records: SourceRecord[]) => Promise<void>;
  sink: Sink<T>;
  /** Required when onError is "dlq". */
  deadLetters?: DeadLetterTopic;
  onError: "dlq" | "stop";
  /** Most records per sink write. */
  batchSize: number;
  /** Process and commit exactly this many records, then stop. */
  maxMessages?: number;
  /** Stop once no assigned partition has lag. */
  untilCaughtUp: boolean;
  log: Logger;
  /** Progress line every this many records... */
  logInterval: number;
  /** ...and at least this often while records flow. */
  logIntervalMs?: number;
  signal: AbortSignal;
  /** Chunks consumed ahead of the writers; bounds memory. */
  maxQueuedChunks?: number;
  /** Sink writes in flight at once; commits stay in offset order regardless. */
  sinkConcurrency?: number;
  retry?: BackoffOptions;
  /** Instrumentation: called after every committed chunk (metrics hook). */
  onChunk?: (info: ChunkInfo) => void;
}

/** How a run goes: the part of the options every job on the engine takes from its flags. */
export type RunSettings = Pick<
  PipelineOptions<unknown>,
  "onError" | "batchSize" | "maxMessages" | "untilCaughtUp" | "logInterval" | "log" | "signal" | "onChunk"
>;

/** Just the run settings out of a job's options, to hand to runPipeline. */
export function runSettings(options: RunSettings): RunSettings {
  const { onError, batchSize, maxMessages, untilCaughtUp, logInterval, log, signal, onChunk } = options;
  return { onError, batchSize, maxMessages, untilCaughtUp, logInterval, log, signal, onChunk };
}

export interface ChunkInfo {
  topic: string;
  partition: number;
  records: number;
  written: number;
  duplicates: number;
  deadLettered: number;
  skipped: number;
  bytes: number;
  writeMs: number;
}

export type StopReason = "caught-up" | "max-messages" | "signal" | "error";

export interface PipelineSummary {
  consumed: number;
  written: number;
  duplicates: number;
  deadLettered: number;
  skipped: number;
  committed: number;
  bytes: number;
  elapsedMs: number;
  messagesPerSec: number;
  /** Lag of the group when the run ended, when it could be measured. */
  lag?: number;
  stoppedBy: StopReason;
  /** Set when stoppedBy is "error". */
  error?: Error;
}

/** A record could not be processed and the run was told to stop on errors. */
export class PoisonMessageError extends Error {
  override name = "PoisonMessageError";
}

interface Durable<T> {
  chunk: Chunk<T>;
  written: number;
  duplicates: number;
  dead: DeadLetter[];
  /** With onError "stop": the first record that could not be made durable. */
  poison?: DeadLetter;
  writeMs: number;
}

interface Chunk<T> {
  topic: string;
  partition: number;
  records: SourceRecord[];
  /**
   * The offset to commit once the chunk is durable. Past the last record when
   * transaction markers or aborted records follow it, so a group on a
   * transactional topic reaches the end (the last stable offset), not end - 1.
   */
  nextOffset: string;
  writes: { record: SourceRecord; item: T }[];
  dead: DeadLetter[];
  skipped: number;
}

const DEFAULT_RETRY: BackoffOptions = { initialMs: 250, maxMs: 10_000 };
const CAUGHT_UP_CHECK_MS = 500;

export async function runPipeline<T>(options: PipelineOptions<T>): Promise<PipelineSummary> {
  const { source, log } = options;
  if (options.onError === "dlq" && !options.deadLetters) throw new Error("onError 'dlq' needs a dead-letter topic");

  const queue = new BoundedQueue<Chunk<T>>(options.maxQueuedChunks ?? 4);
  const counts = { consumed: 0, written: 0, duplicates: 0, deadLettered: 0, skipped: 0, committed: 0, bytes: 0 };
  const progress = createProgress({
    logger: log,
    everyMessages: options.logInterval,
    everyMs: options.logIntervalMs ?? 10_000,
    fields: () => ({
      written: counts.written,
      duplicates: counts.duplicates,
      dead_lettered: counts.deadLettered,
      skipped: counts.skipped,
    }),
  });

  let stopReason: StopReason | undefined;
  let fatal: Error | undefined;
  const stopController = new AbortController();
  const stop = (reason: StopReason, error?: Error) => {
    if (stopReason) return;
    stopReason = reason;
    fatal = error;
    queue.close();
    stopController.abort();
  };
  const onAbort = () => stop("signal");
  options.signal.addEventListener("abort", onAbort, { once: true });
  if (options.signal.aborted) stop("signal");

  source.consumer.on(source.consumer.events.CRASH, (event) => {
    if (!event.payload.restart) stop("error", event.payload.error);
  });
  // kafkajs skips eachBatch for a fetch holding only transaction markers or
  // aborted records; an empty chunk commits past them, in order with the rest.
  source.consumer.on(source.consumer.events.START_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize > 0 || stopReason) return;
    const chunk = processChunk<T>(payload.topic, payload.partition, [], options.processor);
    chunk.nextOffset = nextAfter(payload.lastOffset);
    queue.pushNow(chunk);
  });

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    for (let start = 0; start < batch.messages.length; start += options.batchSize) {
      if (stopReason || !isRunning() || isStale()) return;
      let messages = batch.messages.slice(start, start + options.batchSize);
      if (options.maxMessages !== undefined) {
        const budget = options.maxMessages - counts.consumed;
        if (budget <= 0) return;
        messages = messages.slice(0, budget);
      }
      const records = messages.map((m) => toSourceRecord(batch.topic, batch.partition, m));
      const wholeRest = start + messages.length >= batch.messages.length;
      if (options.prepare) {
        try {
          await options.prepare(records);
        } catch (error) {
          stop("error", asError(error));
          return;
        }
      }
      const chunk = processChunk(batch.topic, batch.partition, records, options.processor);
      if (wholeRest) chunk.nextOffset = laterOffset(chunk.nextOffset, nextAfter(batch.lastOffset()));
      if (!(await queue.push(chunk, heartbeat))) return;
      counts.consumed += records.length;
      resolveOffset(records[records.length - 1]!.offset);
    }
  };

  const order = new CommitOrder<Durable<T>>();
  let inFlight = 0;
  let settling: Promise<void> = Promise.resolve();

  const worker = async () => {
    for (let chunk = await queue.take(); chunk; chunk = await queue.take()) {
      const ticket = order.track(chunk.topic, chunk.partition);
      inFlight++;
      try {
        const durable = await makeDurable(chunk);
        // Not durable (stopped while the sink was down): never released, so
        // neither it nor anything after it in its partition is committed.
        if (!durable) continue;
        const ready = order.complete(ticket, durable);
        if (ready.length) {
          settling = settling.then(() => commitInOrder(ready)).catch((error) => stop("error", asError(error)));
          await settling;
        }
      } catch (error) {
        stop("error", asError(error));
      } finally {
        inFlight--;
      }
    }
  };

  /** Writes a chunk and dead-letters what cannot be written; undefined if stopped first. */
  const makeDurable = async (chunk: Chunk<T>): Promise<Durable<T> | undefined> => {
    const started = performance.now();
    const result = chunk.writes.length
      ? await retrying(`write to ${options.sink.name}`, () => options.sink.write(chunk.writes.map((w) => w.item)))
      : { written: 0, duplicates: 0, rejected: [] };
    if (result === undefined) return undefined;
    const accounted = result.written + result.duplicates + result.rejected.length;
    if (accounted !== chunk.writes.length) {
      // Committing on a result that leaves records unaccounted for would lose them.
      throw new Error(`${options.sink.name} accounted for ${accounted} of ${chunk.writes.length} records; stopping without committing`);
    }
    const dead = [
      ...chunk.dead,
      ...result.rejected.map(({ index, reason }) => ({ record: chunk.writes[index]!.record, reason, stage: "sink" })),
    ];
    if (dead.length && options.onError === "stop") {
      const poison = dead.reduce((a, b) => (BigInt(a.record.offset) <= BigInt(b.record.offset) ? a : b));
      return { chunk, written: result.written, duplicates: result.duplicates, dead: [], poison, writeMs: performance.now() - started };
    }
    if (dead.length) {
      const sent = await retrying("send to the dead-letter topic", () => options.deadLetters!.send(dead).then(() => true));
      if (sent === undefined) return undefined;
      for (const letter of dead) log.warn("dead-lettered", { record: recordRef(letter.record), stage: letter.stage, reason: letter.reason });
    }
    return { chunk, written: result.written, duplicates: result.duplicates, dead, writeMs: performance.now() - started };
  };

  /** Commits released chunks of one partition, oldest first, and counts them. */
  const commitInOrder = async (ready: Durable<T>[]) => {
    // After a poison message nothing more is committed, so a rerun starts at it.
    if (stopReason === "error") return;
    const poisoned = ready.find((d) => d.poison);
    const counted = poisoned ? ready.slice(0, ready.indexOf(poisoned) + 1) : ready;
    const last = counted[counted.length - 1]!;
    const { topic, partition } = last.chunk;
    const next = poisoned ? poisoned.poison!.record.offset : last.chunk.nextOffset;
    await commit(topic, partition, next);

    for (const durable of counted) {
      const { chunk } = durable;
      const records = durable.poison
        ? chunk.records.filter((r) => BigInt(r.offset) < BigInt(durable.poison!.record.offset))
        : chunk.records;
      const bytes = records.reduce((sum, r) => sum + r.size, 0);
      counts.committed += records.length;
      counts.written += durable.written;
      counts.duplicates += durable.duplicates;
      counts.deadLettered += durable.dead.length;
      counts.skipped += durable.poison ? 0 : chunk.skipped;
      counts.bytes += bytes;
      progress.record(records.length, bytes);
      options.onChunk?.({
        topic,
        partition,
        records: records.length,
        written: durable.written,
        duplicates: durable.duplicates,
        deadLettered: durable.dead.length,
        skipped: chunk.skipped,
        bytes,
        writeMs: durable.writeMs,
      });
    }
    if (poisoned?.poison) {
      const { record, stage, reason } = poisoned.poison;
      throw new PoisonMessageError(`message ${recordRef(record)} failed at ${stage}: ${reason}`);
    }
    if (options.maxMessages !== undefined && counts.committed >= options.maxMessages) stop("max-messages");
  };

  /** Runs `attempt` until it succeeds; transient failures back off. Undefined if stopped meanwhile. */
  const retrying = async <R>(what: string, attempt: () => Promise<R>): Promise<R | undefined> => {
    for (let failures = 0; ; failures++) {
      try {
        const value = await attempt();
        if (failures > 0) log.info(`${what} succeeded again`, { after_attempts: failures + 1 });
        return value;
      } catch (error) {
        if (!isTransient(error)) throw error;
        if (stopReason === "signal" || stopReason === "error") return undefined;
        const delay = backoffDelay(failures, options.retry ?? DEFAULT_RETRY);
        log.warn(`${what} failed; retrying`, { attempt: failures + 1, retry_in_ms: delay, error: String((error as Error).message ?? error) });
        await sleep(delay, options.signal);
        if (options.signal.aborted) return undefined;
      }
    }
  };

  const commit = async (topic: string, partition: number, offset: string) => {
    try {
      await source.commit(topic, partition, offset);
    } catch (error) {
      // The records are durable; a lost commit only means they are delivered
      // again after a rebalance, and the sink absorbs that as duplicates.
      log.warn("offset commit failed; records will be redelivered", { topic, partition, offset, error: String(error) });
    }
  };

  const watchCaughtUp = async () => {
    while (!stopReason) {
      await sleep(CAUGHT_UP_CHECK_MS, stopController.signal);
      if (stopReason || queue.size > 0 || inFlight > 0 || !source.assignment()) continue;
      try {
        const total = await source.lag(true);
        progress.setLag(total);
        if (total === 0 && queue.size === 0 && inFlight === 0) stop("caught-up");
      } catch (error) {
        log.debug("lag check failed", { error: String(error) });
      }
    }
  };

  const writing = Promise.all(Array.from({ length: options.sinkConcurrency ?? 2 }, worker));
  const watching = options.untilCaughtUp ? watchCaughtUp() : Promise.resolve();
  await source.consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch,
  });
  await writing;
  await settling;
  await watching;
  options.signal.removeEventListener("abort", onAbort);

  await source.consumer.stop();
  const lag = await source.lag().catch(() => undefined);
  const totals = progress.stop();
  return {
    ...counts,
    elapsedMs: totals.elapsedMs,
    messagesPerSec: Math.round((counts.committed * 1000) / totals.elapsedMs),
    lag,
    stoppedBy: stopReason ?? "error",
    error: fatal,
  };
}

function processChunk<T>(topic: string, partition: number, records: SourceRecord[], processor: Processor<T>): Chunk<T> {
  const last = records[records.length - 1];
  const nextOffset = last ? nextAfter(last.offset) : "0";
  const chunk: Chunk<T> = { topic, partition, records, nextOffset, writes: [], dead: [], skipped: 0 };
  for (const record of records) {
    let outcome: Outcome<T>;
    try {
      outcome = processor(record);
    } catch (error) {
      outcome = { kind: "dead", reason: `processor failed: ${(error as Error).message ?? error}`, stage: "process" };
    }
    if (outcome.kind === "write") chunk.writes.push({ record, item: outcome.item });
    else if (outcome.kind === "dead") chunk.dead.push({ record, reason: outcome.reason, stage: outcome.stage });
    else chunk.skipped++;
  }
  return chunk;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function nextAfter(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

function laterOffset(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}

function isTransient(error: unknown): boolean {
  if (error instanceof TransientSinkError) return true;
  // kafkajs marks errors worth retrying (broker unavailable, leader moved, ...).
  return (error as { retriable?: boolean })?.retriable === true || (error as Error)?.name === "KafkaJSNumberOfRetriesExceeded";
}
