/**
 * process-events: the job behind tools/process-events.ts. Reads one input
 * topic, runs every message through a pipeline's steps (decode, require,
 * validate, defaults, filter, hash, timestamp, ...), and writes each one as
 * exactly one of processed, filtered or error, plus summary windows, to
 * output topics.
 *
 * Delivery, per chunk of one input partition:
 * - exactly-once: the chunk's outputs, errors and summaries and the
 *   partition's next offset (with the open summary window as the offset's
 *   metadata) go in one Kafka transaction. A read_committed reader sees each
 *   input message's results once, whatever is killed when.
 * - at-least-once: the outputs are acknowledged (acks=all), then the offset
 *   and window are committed; a crash in between repeats the chunk.
 *
 * Zombie fencing (exactly-once): each input partition has its own
 * transactional producer, with the id `<prefix><topic>.<partition>`. A member
 * that gets a partition first initializes that producer: the broker bumps the
 * id's epoch, aborts the previous owner's open transaction and refuses every
 * later send or commit from it (PRODUCER_FENCED / INVALID_PRODUCER_EPOCH), so
 * a member that was paused past its session timeout cannot write once it
 * wakes up. Only after fencing does the new owner read the committed offset
 * and window, which are then final, and it resumes from there.
 *
 * This job runs its own consume-transform-produce loop: the shared engine
 * had no transactional commit when it was written. It uses the engine's
 * source (group, lag) and dead-letter headers.
 *
 * @example
 * const result = await processEvents({ kafka, toKafka: kafka, inputTopic: "user-login", outputs, steps,
 *   summary: { every: 1000, count: {} }, groupId: "process-events", delivery: "exactly-once",
 *   fromBeginning: false, batchSize: 1000, untilCaughtUp: true, logInterval: 10000, log, signal });
 */
import { CompressionTypes, Partitioners, type Kafka, type Producer } from "kafkajs";
import type { KafkaSection } from "../config/kafka-section.ts";
import { openKafkaSource, toSourceRecord, type KafkaSource } from "../sources/kafka.ts";
import type { EngineEvents } from "../engine/events.ts";
import type { StopReason } from "../engine/pipeline.ts";
import { nextOffset, recordRef } from "../engine/record.ts";
import { sleep } from "../backoff.ts";
import { UsageError } from "../errors.ts";
import { createKafka } from "../kafka/client.ts";
import { ensureTopic } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";
import { createProgress } from "../log/progress.ts";
import { eventOutputs, summaryMessage, type OutputMessage, type OutputTopics } from "../processors/event-outputs.ts";
import { processEvent, type EventSteps } from "../processors/event-steps.ts";
import { byTopic } from "../sinks/kafka.ts";
import { SummaryWindows, type Summary, type SummaryOptions } from "../processors/summary-window.ts";

export type Delivery = "exactly-once" | "at-least-once";

export interface ProcessEventsOptions {
  kafka: KafkaSection;
  /** Where the outputs go; must be the input's cluster for exactly-once. */
  toKafka: KafkaSection;
  inputTopic: string;
  outputs: OutputTopics & { summary: string | null };
  steps: EventSteps;
  summary: SummaryOptions;
  groupId: string;
  delivery: Delivery;
  /** Transactional ids are this plus `<topic>.<partition>`; defaults to `process-events.<group>.`. */
  transactionalIdPrefix?: string;
  fromBeginning: boolean;
  /** Most input messages per transaction (or per produce + commit). */
  batchSize: number;
  maxMessages?: number;
  untilCaughtUp: boolean;
  logInterval: number;
  sessionTimeoutMs?: number;
  log: Logger;
  signal: AbortSignal;
  /**
   * Instrumentation: "chunk.committed" after each committed chunk, in the engine's terms:
   * processed events are written, errors dead-lettered (the errors topic), filtered skipped.
   */
  events?: EngineEvents;
}

export interface ProcessEventsSummary {
  consumed: number;
  processed: number;
  filtered: number;
  errors: number;
  summaries: number;
  /** Input messages whose results and offsets are committed. */
  committed: number;
  /** Chunks dropped because another member took their partition (their results were never committed). */
  fencedChunks: number;
  elapsedMs: number;
  messagesPerSec: number;
  lag?: number;
  stoppedBy: StopReason;
  error?: Error;
}

/** This member no longer owns the partition: a newer producer with its transactional id exists. */
export class FencedError extends Error {
  override name = "FencedError";
}

interface PartitionState {
  topic: string;
  partition: number;
  /** Transactional producer (exactly-once). */
  producer?: Producer;
  /** Next input offset to commit; undefined before the first committed offset is known. */
  next?: string;
  /** Committed offset and window must be read again (new generation, failed commit). */
  resync: boolean;
}

const CAUGHT_UP_CHECK_MS = 500;

export async function processEvents(options: ProcessEventsOptions): Promise<ProcessEventsSummary> {
  const { log, groupId, delivery } = options;
  const inKafka = createKafka(options.kafka, log);
  const outKafka = options.toKafka === options.kafka ? inKafka : createKafka(options.toKafka, log);
  const admin = inKafka.admin();
  const outAdmin = outKafka === inKafka ? admin : outKafka.admin();
  const prefix = options.transactionalIdPrefix ?? `process-events.${groupId}.`;
  let source: KafkaSource | undefined;
  let sharedProducer: Producer | undefined;
  const partitions = new Map<string, PartitionState>();

  try {
    await admin.connect();
    if (outAdmin !== admin) await outAdmin.connect();
    if (delivery === "exactly-once" && outAdmin !== admin) {
      const [a, b] = await Promise.all([admin.describeCluster(), outAdmin.describeCluster()]);
      if (a.clusterId !== b.clusterId) {
        throw new UsageError(
          `--delivery exactly-once needs the outputs on the input's cluster ([${options.kafka.name}] is ${a.clusterId}, ` +
            `[${options.toKafka.name}] is ${b.clusterId}); use --delivery at-least-once`,
        );
      }
    }
    const outputTopics = [options.outputs.processed, options.outputs.errors, options.outputs.filtered, options.outputs.summary];
    if (outputTopics.includes(options.inputTopic)) throw new UsageError(`the input topic '${options.inputTopic}' is also an output topic`);
    for (const topic of new Set(outputTopics)) {
      if (topic !== null && (await ensureTopic(outAdmin, topic)).created) log.info("created output topic", { topic });
    }

    source = await openKafkaSource({
      kafka: inKafka,
      groupId,
      topics: [options.inputTopic],
      resetToEarliest: options.fromBeginning,
      sessionTimeoutMs: options.sessionTimeoutMs,
      log,
    });
    if (delivery === "at-least-once") {
      sharedProducer = outKafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await sharedProducer.connect();
    }
    return await run(options, source, { inKafka: outKafka, admin, prefix, partitions, sharedProducer });
  } finally {
    for (const state of partitions.values()) await state.producer?.disconnect().catch(() => {});
    await sharedProducer?.disconnect().catch(() => {});
    await source?.close().catch((e) => log.warn("closing the consumer failed", { error: String(e) }));
    await admin.disconnect().catch(() => {});
    if (outAdmin !== admin) await outAdmin.disconnect().catch(() => {});
  }
}

interface Clients {
  /** The cluster the outputs (and transactions) go to. */
  inKafka: Kafka;
  admin: ReturnType<Kafka["admin"]>;
  prefix: string;
  partitions: Map<string, PartitionState>;
  sharedProducer?: Producer;
}

async function run(options: ProcessEventsOptions, source: KafkaSource, clients: Clients): Promise<ProcessEventsSummary> {
  const { log, groupId, delivery } = options;
  const { partitions } = clients;
  const consumer = source.consumer;
  const windows = options.outputs.summary === null ? undefined : new SummaryWindows(options.summary);
  const counts = { consumed: 0, processed: 0, filtered: 0, errors: 0, summaries: 0, committed: 0, fencedChunks: 0 };
  const progress = createProgress({
    logger: log,
    everyMessages: options.logInterval,
    everyMs: 10_000,
    fields: () => ({ processed: counts.processed, filtered: counts.filtered, errors: counts.errors, summaries: counts.summaries }),
  });

  let stopReason: StopReason | undefined;
  let fatal: Error | undefined;
  const stopped = new AbortController();
  const stop = (reason: StopReason, error?: Error) => {
    if (stopReason) return;
    stopReason = reason;
    fatal = error;
    stopped.abort();
  };
  const onAbort = () => stop("signal");
  options.signal.addEventListener("abort", onAbort, { once: true });
  if (options.signal.aborted) stop("signal");
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) stop("error", event.payload.error);
  });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const assigned = new Set((event.payload.memberAssignment[options.inputTopic] ?? []).map((p) => key(options.inputTopic, p)));
    for (const [id, state] of partitions) {
      state.resync = true;
      if (!assigned.has(id)) {
        // Revoked: the new owner fences this producer and resumes the window from the committed metadata.
        partitions.delete(id);
        windows?.forget(state.topic, state.partition);
        state.producer?.disconnect().catch(() => {});
      }
    }
  });

  /** Takes (or re-takes) a partition: fences older producers, then reads the committed offset and window. */
  const claim = async (topic: string, partition: number): Promise<PartitionState> => {
    let state = partitions.get(key(topic, partition));
    if (!state) {
      state = { topic, partition, resync: true };
      partitions.set(key(topic, partition), state);
    }
    if (delivery === "exactly-once" && !state.producer) {
      const producer = clients.inKafka.producer({
        transactionalId: `${clients.prefix}${topic}.${partition}`,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        transactionTimeout: 60_000,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      state.producer = producer;
    }
    const [offsets] = await clients.admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets?.partitions.find((p) => p.partition === partition);
    const offset = committed && BigInt(committed.offset) >= 0n ? committed.offset : undefined;
    state.next = offset;
    if (windows) {
      if (offset === undefined) windows.forget(topic, partition);
      else if (!windows.restore(topic, partition, offset, committed?.metadata) && committed?.metadata) {
        log.debug("committed offset metadata is not an open window of this pipeline", { topic, partition, offset });
      }
    }
    state.resync = false;
    return state;
  };

  /** Writes a chunk's outputs and commits the partition's next offset with its window, atomically under exactly-once. */
  const commitChunk = async (state: PartitionState, messages: OutputMessage[], next: string, metadata: string) => {
    const topicMessages = byTopic(messages);
    const offsets = [{ topic: state.topic, partition: state.partition, offset: next, metadata }];
    if (delivery === "at-least-once") {
      if (topicMessages.length) await clients.sharedProducer!.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
      await consumer.commitOffsets(offsets);
      return;
    }
    const transaction = await state.producer!.transaction();
    try {
      if (topicMessages.length) await transaction.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: state.topic, partitions: [{ partition: state.partition, offset: next, metadata } as { partition: number; offset: string }] }],
      });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => {});
      if (isFenced(error)) throw new FencedError(`${state.topic}/${state.partition}: another member owns this partition now`, { cause: error });
      throw error;
    }
  };

  let busy = 0;
  let idle: () => void = () => {};
  consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (stopReason) return;
      busy++;
      try {
        const { topic, partition } = batch;
        let state = partitions.get(key(topic, partition));
        if (!state || state.resync) state = await claim(topic, partition);
        const first = batch.messages[0];
        if (first && state.next !== undefined && BigInt(state.next) < BigInt(first.offset)) {
          // The consumer ran ahead of what is committed (a failed commit): go back and redo it.
          consumer.seek({ topic, partition, offset: state.next });
          return;
        }
        for (let start = 0; start < batch.messages.length; start += options.batchSize) {
          if (stopReason || !isRunning() || isStale()) return;
          let slice = batch.messages.slice(start, start + options.batchSize);
          // Already committed (by this member before a rebalance, or by a fenced one): not again.
          if (state.next !== undefined) slice = slice.filter((m) => BigInt(m.offset) >= BigInt(state!.next!));
          if (options.maxMessages !== undefined) slice = slice.slice(0, Math.max(0, options.maxMessages - counts.committed));
          if (slice.length === 0) {
            if (options.maxMessages !== undefined && counts.committed >= options.maxMessages) {
              stop("max-messages");
              return;
            }
            resolveOffset(batch.messages[Math.min(start + options.batchSize, batch.messages.length) - 1]!.offset);
            continue;
          }
          const chunk = { processed: 0, filtered: 0, errors: 0, summaries: 0, bytes: 0 };
          const messages: OutputMessage[] = [];
          const now = new Date();
          const addSummary = (summary: Summary | undefined) => {
            if (!summary) return;
            messages.push(summaryMessage(summary, options.outputs.summary!, now));
            chunk.summaries++;
          };
          for (const message of slice) {
            const record = toSourceRecord(topic, partition, message);
            chunk.bytes += record.size;
            const verdict = processEvent(record.value, options.steps);
            const output = eventOutputs(record, verdict, options.outputs, now);
            if (output) messages.push(output);
            chunk[verdict.kind === "error" ? "errors" : verdict.kind]++;
            if (verdict.kind === "error") log.debug("error", { record: recordRef(record), stage: verdict.stage, reason: verdict.reason });
            addSummary(windows?.add(topic, partition, record.offset, verdict.kind, verdict.kind === "processed" ? verdict.event : undefined));
          }
          const next = nextOffset(slice[slice.length - 1]!);
          let metadata = "";
          if (windows) {
            const open = windows.metadata(topic, partition);
            addSummary(open.closed);
            metadata = open.metadata;
          }
          const writeStarted = performance.now();
          try {
            await commitChunk(state, messages, next, metadata);
          } catch (error) {
            // The window was advanced for results that may not be committed: read it back before going on.
            // A failed commit may still have succeeded on the broker, and the committed offset it wrote
            // is only readable once its transaction is complete. A new producer with the same id waits
            // for exactly that (InitProducerId), so the retry never reads a stale offset and redoes the chunk.
            state.resync = true;
            const producer = state.producer;
            state.producer = undefined;
            await producer?.disconnect().catch(() => {});
            if (error instanceof FencedError) {
              counts.fencedChunks++;
              log.warn("fenced: another member took this partition; dropping the uncommitted chunk", { topic, partition, from: slice[0]!.offset });
              partitions.delete(key(topic, partition));
              windows?.forget(topic, partition);
              return;
            }
            log.warn("commit failed; retrying the chunk from the committed offset", { topic, partition, error: String((error as Error).message ?? error) });
            throw error;
          }
          state.next = next;
          resolveOffset(slice[slice.length - 1]!.offset);
          counts.consumed += slice.length;
          counts.committed += slice.length;
          counts.processed += chunk.processed;
          counts.filtered += chunk.filtered;
          counts.errors += chunk.errors;
          counts.summaries += chunk.summaries;
          progress.record(slice.length, chunk.bytes);
          options.events?.emit("chunk.committed", {
            topic,
            partition,
            records: slice.length,
            written: chunk.processed,
            duplicates: 0,
            deadLettered: chunk.errors,
            skipped: chunk.filtered,
            bytes: chunk.bytes,
            writeMs: performance.now() - writeStarted,
            latencyMs: performance.now() - writeStarted,
          });
          if (options.maxMessages !== undefined && counts.committed >= options.maxMessages) {
            stop("max-messages");
            return;
          }
          await heartbeat();
        }
      } finally {
        busy--;
        if (busy === 0) idle();
      }
    },
  }).catch((error) => stop("error", error as Error));

  const watching = options.untilCaughtUp ? watchCaughtUp() : Promise.resolve();
  async function watchCaughtUp() {
    while (!stopReason) {
      await sleep(CAUGHT_UP_CHECK_MS, stopped.signal);
      if (stopReason || busy > 0 || !source.assignment()) continue;
      try {
        const lag = await source.lag(true);
        progress.setLag(lag);
        if (lag === 0 && busy === 0) stop("caught-up");
      } catch (error) {
        log.debug("lag check failed", { error: String(error) });
      }
    }
  }

  await new Promise<void>((resolve) => stopped.signal.addEventListener("abort", () => resolve(), { once: true }));
  await watching;
  if (busy > 0) await new Promise<void>((resolve) => (idle = resolve));
  options.signal.removeEventListener("abort", onAbort);

  // A run that stops flushes its partial windows, with the offsets they cover.
  if (windows && stopReason !== "error") {
    // Owned partitions that had nothing to read this run may still hold an open window
    // (left by a run whose flush failed): claim them so it is flushed too.
    for (const partition of source.assignment()?.[options.inputTopic] ?? []) {
      const state = partitions.get(key(options.inputTopic, partition));
      if (!state || state.resync) await claim(options.inputTopic, partition).catch((e) => log.warn("could not claim a partition to flush its window", { partition, error: String(e) }));
    }
    for (const { topic, partition } of windows.open()) {
      const state = partitions.get(key(topic, partition));
      const summary = windows.flush(topic, partition, "stop");
      if (!state || state.next === undefined || !summary) continue;
      if (delivery === "exactly-once" && !state.producer) await claim(topic, partition).catch(() => {});
      try {
        await commitChunk(state, [summaryMessage(summary, options.outputs.summary!)], state.next, "");
        counts.summaries++;
      } catch (error) {
        log.warn("could not flush the partial summary window; the next run resumes it", { topic, partition, error: String(error) });
      }
    }
  }
  await consumer.stop();
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

function key(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

const FENCED_TYPES = new Set(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"]);

function isFenced(error: unknown): boolean {
  for (let e = error as { type?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.type !== undefined && FENCED_TYPES.has(e.type)) return true;
  }
  return false;
}
