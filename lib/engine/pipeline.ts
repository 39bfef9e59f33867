/**
 * The streaming engine shared by every pipeline tool:
 * source → processor → sink, with a dead-letter route.
 *
 * The commit rule: a source offset is committed only after its record is
 * durable in the sink, in the dead-letter topic, or deliberately skipped.
 * Consuming and writing overlap: the source fetches the next batch while the
 * writers make earlier chunks durable, through a queue bounded in chunks and
 * bytes that keeps memory flat and stalls the consumer (heartbeating) when the
 * sink is slow or down.
 *
 * The parts, one file each: chunk.ts (processing a batch), writer.ts (making
 * a chunk durable, with retries, under a commit strategy), committer.ts
 * (in-order commits, counting only what is committed), caught-up.ts (the
 * --until-caught-up watcher), lag-watch.ts (lag for the status line and
 * metrics), events.ts (instrumentation).
 *
 * Commit strategies: `offsets` commits the group's offsets after the sink
 * write (at least once); `transaction` has a transactional sink write a
 * chunk's outputs and the group's offset in one Kafka transaction (exactly
 * once for read_committed readers; one writer, chunks in order).
 *
 * @example
 * const summary = await runPipeline({
 *   source, processor: toDocument, sink: mongoSink, deadLetters: dlq,
 *   onError: "dlq", batchSize: 500, untilCaughtUp: true, log, logInterval: 1000, signal,
 * });
 */
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { createProgress } from "../log/progress.ts";
import type { BackoffOptions } from "../backoff.ts";
import { BoundedQueue } from "./bounded-queue.ts";
import { watchCaughtUp } from "./caught-up.ts";
import { watchLag } from "./lag-watch.ts";
import { processChunk, type Chunk } from "./chunk.ts";
import { Committer, type Counts } from "./committer.ts";
import type { DeadLetterTopic } from "./dead-letter.ts";
import { EngineEvents } from "./events.ts";
import { DEFAULT_PAUSE_POLICY, partitionPauser, type PausePolicy } from "./partition-pauser.ts";
import { DEFAULT_MEMORY_SOFT_LIMIT_BYTES, memoryCeiling } from "./memory-ceiling.ts";
import { partitionRewind } from "./partition-rewind.ts";
import { nextOffset, type Processor, type SourceRecord } from "./record.ts";
import { retryTransient, type RetryContext } from "./retry.ts";
import type { PartitionState } from "./partition-state.ts";
import type { Sink, TransactionalSink } from "./sink.ts";
import type { Source, SourceBatch } from "./source.ts";
import { chunkWriter, type CommitStrategy, type WriteOutcome } from "./writer.ts";

export { PoisonMessageError } from "./committer.ts";
export { SinkOutageError } from "./retry.ts";
export type { CommitStrategy } from "./writer.ts";

export interface PipelineOptions<T> extends RunSettings {
  source: Source;
  processor: Processor<T>;
  /**
   * Awaited before each chunk is processed, for what the processor needs and
   * cannot fetch synchronously (the Avro schemas its messages name). A
   * rejection stops the run with that error; nothing of the chunk is committed.
   */
  prepare?: (records: SourceRecord[]) => Promise<void>;
  /** A transactional sink goes with commitStrategy "transaction". */
  sink: Sink<T> | TransactionalSink<T>;
  /** Required when onError is "dlq". */
  deadLetters?: DeadLetterTopic;
  /** Sink writes in flight at once; commits stay in offset order regardless. Forced to 1 under "transaction" and with partitionState. */
  sinkConcurrency?: number;
  /**
   * A job's per-partition state, committed as the offset's metadata with
   * every chunk, with extra items written alongside (see partition-state.ts).
   * A clean stop (not an error) flushes it. Needs onError "dlq".
   */
  partitionState?: PartitionState<T>;
  /** Level of the line logged per dead letter (default "warn"). */
  deadLetterLogLevel?: "warn" | "debug";
  retry?: BackoffOptions;
  /** Instrumentation; see events.ts. */
  events?: EngineEvents;
}

/** How a run goes: what every job on the engine takes from its flags, as one object. */
export interface RunSettings {
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
  /** How offsets are committed; default "offsets". */
  commitStrategy?: CommitStrategy;
  /** Longest a sink outage is retried before the run ends with exit 1, ms; undefined: no limit. */
  maxOutageMs?: number;
  /** Chunks consumed ahead of the writers... */
  maxQueuedChunks?: number;
  /** ...and bytes of their records; both bound memory. */
  maxQueuedBytes?: number;
  /** Pausing of partitions whose writes keep failing; false: never pause. Default DEFAULT_PAUSE_POLICY. */
  pausePolicy?: PausePolicy | false;
  /** RSS above which a full collection is asked for (see memory-ceiling.ts); false: none. */
  memorySoftLimitBytes?: number | false;
}

export type StopReason = "caught-up" | "max-messages" | "signal" | "error";

/** The committer's counts (committed counts only what is committed), plus how the run went. */
export interface PipelineSummary extends Omit<Counts, "returned"> {
  elapsedMs: number;
  messagesPerSec: number;
  /** Lag of the group when the run ended, when it could be measured. */
  lag?: number;
  stoppedBy: StopReason;
  /** Set when stoppedBy is "error". */
  error?: Error;
}

/** --max-messages N ended with fewer than N committed (failed commits, a stop while writing). */
export class IncompleteCommitError extends Error {
  override name = "IncompleteCommitError";
}

const DEFAULT_RETRY: BackoffOptions = { initialMs: 250, maxMs: 10_000 };
/** 32 MiB of record bytes queued: with chunks in flight, their documents and the memory ceiling, RSS stays under 256 MB. */
export const DEFAULT_MAX_QUEUED_BYTES = 32 * 1024 * 1024;

export async function runPipeline<T>(options: PipelineOptions<T>): Promise<PipelineSummary> {
  const { source, log } = options;
  if (options.onError === "dlq" && !options.deadLetters) throw new Error("onError 'dlq' needs a dead-letter topic");
  // A poison record commits part of a chunk, which the state's metadata does not describe.
  if (options.partitionState && options.onError !== "dlq") throw new Error("partition state needs onError 'dlq'");
  const strategy = options.commitStrategy ?? "offsets";
  const events = options.events ?? new EngineEvents();
  const ceiling = options.memorySoftLimitBytes === false ? undefined : memoryCeiling({ softLimitBytes: options.memorySoftLimitBytes ?? DEFAULT_MEMORY_SOFT_LIMIT_BYTES });

  const queue = new BoundedQueue<Chunk<T>>(options.maxQueuedChunks ?? 4, {
    maxBytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
    sizeOf: (chunk) => chunk.bytes,
  });
  let committer: Committer<T> | undefined;
  const progress = createProgress({
    logger: log,
    everyMessages: options.logInterval,
    everyMs: options.logIntervalMs ?? 10_000,
    fields: () => ({
      written: counts().written,
      duplicates: counts().duplicates,
      dead_lettered: counts().deadLettered,
      skipped: counts().skipped,
    }),
  });
  committer = new Committer<T>({ source, events, log, progress, stale: (chunk) => rewind.stale(chunk) });
  const counts = () => committer!.counts;

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
  source.onCrash((error) => stop("error", error));

  const retry: RetryContext = {
    policy: { backoff: options.retry ?? DEFAULT_RETRY, maxOutageMs: options.maxOutageMs },
    log,
    events,
    sink: options.sink.name,
    stopping: () => stopReason === "signal" || stopReason === "error",
    signal: stopController.signal,
  };
  const rewind = partitionRewind({
    source,
    log,
    signal: stopController.signal,
    committedPosition: (topic, partition) => committer!.position(topic, partition),
    outstanding: (topic, partition) => committer!.outstanding(topic, partition),
  });
  const pauser = options.pausePolicy === false ? undefined : partitionPauser(options.pausePolicy ?? DEFAULT_PAUSE_POLICY, { source: rewind, log, events });
  const writer = chunkWriter({
    sink: options.sink,
    deadLetters: options.deadLetters,
    onError: options.onError,
    strategy,
    source,
    retry,
    log,
    events,
    onChunkFailure: pauser && ((topic, partition) => pauser.failed(topic, partition)),
    state: options.partitionState,
    deadLetterLogLevel: options.deadLetterLogLevel,
    onChunkRecovered: pauser && ((topic, partition) => pauser.recovered(topic, partition)),
    rewind,
  });

  /** Records still to consume under --max-messages: handed-back records are consumed again. */
  const budget = () => (options.maxMessages === undefined ? Infinity : options.maxMessages - (counts().consumed - counts().returned));

  const onBatch = async (batch: SourceBatch): Promise<number> => {
    const { topic, partition } = batch;
    // Fetched before a pause: its chunks would follow the ones handed back, so it is read again at resume.
    if (rewind.isPaused(topic, partition)) return 0;
    const generation = rewind.generation(topic, partition);
    if (batch.records.length === 0) {
      // Only transaction markers or aborted records: an empty chunk commits past them, in order with the rest.
      if (!stopReason) {
        rewind.consumed(topic, partition, batch.epoch, batch.nextOffset);
        queue.pushNow({ ...processChunk(batch, [], options.processor), generation });
      }
      return 0;
    }
    let taken = 0;
    while (taken < batch.records.length) {
      if (stopReason || !batch.isActive() || rewind.generation(topic, partition) !== generation) break;
      const room = Math.min(options.batchSize, budget());
      if (room <= 0) break;
      const records = batch.records.slice(taken, taken + room);
      if (options.prepare) {
        try {
          await options.prepare(records);
        } catch (error) {
          stop("error", asError(error));
          break;
        }
      }
      const rest = taken + records.length === batch.records.length;
      const chunk: Chunk<T> = {
        ...processChunk({ ...batch, nextOffset: rest ? batch.nextOffset : nextOffset(records[records.length - 1]!) }, records, options.processor),
        generation,
      };
      rewind.consumed(topic, partition, batch.epoch, records[0]!.offset);
      if (!(await queue.push(chunk, batch.heartbeat))) break;
      counts().consumed += records.length;
      taken += records.length;
      events.emit("queue.depth", { chunks: queue.size, bytes: queue.bytes });
    }
    return taken;
  };

  let inFlight = 0;
  let settling: Promise<void> = Promise.resolve();
  /** Written chunks whose commit has not finished; bounded like the queue so a slow commit holds back writing. */
  let unsettled = 0;
  const maxUnsettled = options.maxQueuedChunks ?? 4;
  const afterCommit = async () => {
    if (options.maxMessages === undefined || stopReason) return;
    if (counts().committed >= options.maxMessages) return stop("max-messages");
    if (budget() > 0 || queue.size > 0 || inFlight > 1) return;
    // Everything allowed was consumed and settled, yet fewer than N are committed: failed commits.
    if (!(await committer!.flush()) || counts().committed < options.maxMessages) {
      if (counts().committed >= options.maxMessages) return stop("max-messages");
      stop(
        "error",
        new IncompleteCommitError(`--max-messages ${options.maxMessages}: only ${counts().committed} committed (${committer!.uncommitted} durable but their commit failed)`),
      );
    } else stop("max-messages");
  };

  const worker = async () => {
    for (let chunk = await queue.take(); chunk; chunk = await queue.take()) {
      events.emit("queue.depth", { chunks: queue.size, bytes: queue.bytes });
      const ticket = committer!.track(chunk);
      inFlight++;
      let outcome: WriteOutcome<T> = { kind: "stopped" };
      // After an error nothing more is written or committed, so a rerun starts where it stopped.
      // A chunk queued before its partition was paused is handed back unwritten (the committer gives it back).
      if (stopReason !== "error" && !rewind.stale(chunk)) {
        try {
          outcome = await writer.write(chunk);
        } catch (error) {
          stop("error", asError(error));
        }
      }
      const settled = chunk;
      unsettled++;
      settling = settling
        .then(async () => {
          if (stopReason === "error") outcome = { kind: "stopped" };
          await committer!.complete(ticket, settled, outcome);
          await afterCommit();
        })
        .catch((error) => stop("error", asError(error)))
        .finally(() => {
          unsettled--;
          inFlight--;
        });
      // The worker writes the next chunk while this one's offsets are
      // committed: a commit round trip per chunk would otherwise idle the
      // sink. A transaction commits as part of its write, and partition state
      // must be settled before the next chunk of its partition is written.
      if (strategy === "transaction" || options.partitionState || unsettled >= maxUnsettled) await settling;
    }
  };

  const concurrency = strategy === "transaction" || options.partitionState ? 1 : (options.sinkConcurrency ?? 2);
  const writing = Promise.all(Array.from({ length: concurrency }, worker));
  const watching = options.untilCaughtUp
    ? watchCaughtUp({
        source,
        idle: () => queue.size === 0 && inFlight === 0 && committer!.uncommitted === 0,
        onCaughtUp: () => stop("caught-up"),
        onLag: (lag) => progress.setLag(lag),
        events,
        log,
        signal: stopController.signal,
      })
    : Promise.resolve();
  const measuring = watchLag({
    source,
    events,
    onLag: (lag) => progress.setLag(lag),
    log,
    signal: stopController.signal,
    intervalMs: options.logIntervalMs ?? 10_000,
  });
  await source.run(onBatch);
  await writing;
  await settling;
  await watching;
  await measuring;
  options.signal.removeEventListener("abort", onAbort);
  // While still in the group: a flush commits, and must not follow a commit that failed (it would skip it).
  if (options.partitionState && stopReason !== "error") {
    if (committer.uncommitted === 0) await writer.flushState();
    else log.warn("not flushing partition state: some commits failed; it stays with the committed offsets", { records: committer.uncommitted });
  }
  pauser?.close();
  ceiling?.stop();
  await source.stop();

  if (strategy === "offsets" && committer.uncommitted > 0) {
    await retryTransient("final offset commit", async () => {
      if (!(await committer!.flush())) throw new Error("commit failed");
    }, { ...retry, stopping: () => false, policy: { backoff: retry.policy.backoff, maxOutageMs: 10_000 } }).catch(() => {});
    if (committer.uncommitted > 0) log.warn("some durable records could not be committed; they will be delivered again", { records: committer.uncommitted });
  }
  const finalLag = await source.partitionLag().catch(() => undefined);
  const lag = finalLag?.reduce((total, p) => total + p.lag, 0);
  if (finalLag && lag !== undefined) events.emit("lag", { lag, partitions: finalLag });
  const totals = progress.stop();
  const final = counts();
  return {
    consumed: final.consumed,
    written: final.written,
    duplicates: final.duplicates,
    deadLettered: final.deadLettered,
    skipped: final.skipped,
    committed: final.committed,
    bytes: final.bytes,
    elapsedMs: totals.elapsedMs,
    messagesPerSec: Math.round((final.committed * 1000) / totals.elapsedMs),
    lag,
    stoppedBy: stopReason ?? "error",
    error: fatal,
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(errorMessage(error));
}
