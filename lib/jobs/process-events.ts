/**
 * process-events: the job behind tools/process-events.ts, on the shared
 * engine. Reads one input topic, runs every message through a pipeline's
 * steps (decode, require, validate, defaults, filter, hash, timestamp, ...)
 * and writes each one as exactly one of processed, filtered or error, plus
 * summary windows, to output topics.
 *
 * Delivery:
 * - exactly-once: the engine's `transaction` commit strategy. A chunk's
 *   processed and filtered events, its errors (the engine's dead letters,
 *   written inside the transaction), the summaries it closes and the input
 *   partition's next offset (with the open summary window as the offset's
 *   metadata) commit in one Kafka transaction. Zombie fencing: one
 *   transactional id per input partition, see sinks/kafka-transactional.ts.
 * - at-least-once: the engine's `offsets` strategy; outputs and errors are
 *   acknowledged (acks=all), then the offset and window are committed; a
 *   crash in between repeats the chunk's outputs.
 *
 * @example
 * const result = await processEvents({ kafka, toKafka: kafka, inputTopic: "user-login", outputs, steps,
 *   summary: { every: 1000, count: {} }, groupId: "process-events", delivery: "exactly-once", fromBeginning: false,
 *   run: { onError: "dlq", batchSize: 1000, untilCaughtUp: true, logInterval: 10000, log, signal } });
 */
import { CompressionTypes } from "kafkajs";
import type { KafkaSection } from "../config/kafka-section.ts";
import type { DeadLetterTopic } from "../engine/dead-letter.ts";
import { openDeadLetterTopic } from "../sinks/dead-letter-topic.ts";
import type { EngineEvents } from "../engine/events.ts";
import { runPipeline, type RunSettings, type StopReason } from "../engine/pipeline.ts";
import type { SourceRecord } from "../engine/record.ts";
import type { Sink, TransactionalSink } from "../engine/sink.ts";
import type { Source } from "../engine/source.ts";
import { errorMessage, UsageError } from "../errors.ts";
import { createKafka } from "../kafka/client.ts";
import { DEFAULT_MAX_MESSAGE_BYTES, ensureTopic } from "../kafka/topics.ts";
import { eventProcessor, type EventEncoder, type EventOutput } from "../processors/event-outputs.ts";
import type { EventSteps } from "../processors/event-steps.ts";
import { summaryState } from "../processors/summary-state.ts";
import { SummaryWindows, type SummaryOptions } from "../processors/summary-window.ts";
import { kafkaSink, REPLICATION_PRODUCER } from "../sinks/kafka.ts";
import { transactionalKafkaSink } from "../sinks/kafka-transactional.ts";
import { openKafkaSource } from "../sources/kafka.ts";
import type { ReplayWindow } from "../kafka/replay-window.ts";

export type Delivery = "exactly-once" | "at-least-once";

export interface ProcessEventsOptions {
  /** How the run goes; onError is always "dlq" (errors are an output). */
  run: Omit<RunSettings, "onError" | "commitStrategy">;
  kafka: KafkaSection;
  /** Where the outputs go; must be the input's cluster for exactly-once. */
  toKafka: KafkaSection;
  inputTopic: string;
  outputs: { processed: string; errors: string; filtered: string | null; summary: string | null };
  steps: EventSteps;
  /**
   * Awaited before each chunk is processed, for what the decoder needs and
   * cannot fetch synchronously (Avro schemas from the registry).
   */
  prepare?: (records: SourceRecord[]) => Promise<void>;
  /** Encodes processed events; JSON by default. */
  encode?: EventEncoder;
  summary: SummaryOptions;
  groupId: string;
  delivery: Delivery;
  fromBeginning: boolean;
  /** --from-time/--to-time: replay only this window, then stop. */
  window?: ReplayWindow;
  sessionTimeoutMs?: number;
  /** Instrumentation: processed and filtered copies are written, errors dead-lettered, filtered skipped. */
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
  elapsedMs: number;
  messagesPerSec: number;
  lag?: number;
  stoppedBy: StopReason;
  error?: Error;
}

export async function processEvents(options: ProcessEventsOptions): Promise<ProcessEventsSummary> {
  const { log } = options.run;
  const exactlyOnce = options.delivery === "exactly-once";
  const inKafka = createKafka(options.kafka, log);
  const outKafka = options.toKafka === options.kafka ? inKafka : createKafka(options.toKafka, log);
  const admin = inKafka.admin();
  const outAdmin = outKafka === inKafka ? admin : outKafka.admin();
  let source: Source | undefined;
  let sink: Sink<EventOutput> | TransactionalSink<EventOutput> | undefined;
  let deadLetters: DeadLetterTopic | undefined;
  try {
    await admin.connect();
    if (outAdmin !== admin) await outAdmin.connect();
    if (exactlyOnce && outAdmin !== admin) {
      const [a, b] = await Promise.all([admin.describeCluster(), outAdmin.describeCluster()]);
      if (a.clusterId !== b.clusterId) {
        throw new UsageError(
          `--delivery exactly-once needs the outputs on the input's cluster ([${options.kafka.name}] is ${a.clusterId}, ` +
            `[${options.toKafka.name}] is ${b.clusterId}); use --delivery at-least-once`,
        );
      }
    }
    const { outputs } = options;
    const outputTopics = [outputs.processed, outputs.errors, outputs.filtered, outputs.summary];
    if (outputTopics.includes(options.inputTopic)) throw new UsageError(`the input topic '${options.inputTopic}' is also an output topic`);
    // The input is checked (it must exist) before any output topic is created.
    source = await openKafkaSource({
      kafka: inKafka,
      groupId: options.groupId,
      topics: [options.inputTopic],
      resetToEarliest: options.fromBeginning,
      window: options.window,
      sessionTimeoutMs: options.sessionTimeoutMs,
      log,
      name: `kafka [${options.kafka.name}]`,
    });
    for (const topic of new Set(outputTopics)) {
      if (topic !== null && (await ensureTopic(outAdmin, topic)).created) log.info("created output topic", { topic });
    }

    const sinkSettings = { name: `kafka [${options.toKafka.name}]`, compression: CompressionTypes.None, maxBatchBytes: DEFAULT_MAX_MESSAGE_BYTES };
    if (exactlyOnce) {
      sink = transactionalKafkaSink({
        ...sinkSettings,
        kafka: outKafka,
        transactionalIdPrefix: `process-events.${options.groupId}`,
        deadLetterTopic: outputs.errors,
      });
    } else {
      const producer = outKafka.producer(REPLICATION_PRODUCER);
      await producer.connect();
      sink = kafkaSink({ ...sinkSettings, producer });
    }
    // Errors go in each chunk's transaction under exactly-once; this topic takes what the sink refuses.
    deadLetters = await openDeadLetterTopic(outKafka, outputs.errors, log);

    const state = summaryState(
      outputs.summary === null ? {} : { windows: new SummaryWindows(options.summary), topic: outputs.summary },
    );
    const summary = await runPipeline({
      ...options.run,
      onError: "dlq",
      commitStrategy: exactlyOnce ? "transaction" : "offsets",
      source,
      processor: eventProcessor(options.steps, outputs, options.encode),
      prepare: options.prepare,
      sink,
      deadLetters,
      partitionState: state,
      // Errors are an output here, counted in progress lines and the summary, not an anomaly.
      deadLetterLogLevel: "debug",
      events: options.events,
    });
    return {
      consumed: summary.consumed,
      ...state.counts,
      committed: summary.committed,
      elapsedMs: summary.elapsedMs,
      messagesPerSec: summary.messagesPerSec,
      lag: summary.lag,
      stoppedBy: summary.stoppedBy,
      error: summary.error,
    };
  } finally {
    const closeFailed = (what: string) => (error: unknown) => log.warn(`closing ${what} failed`, { error: errorMessage(error) });
    await source?.close().catch(closeFailed("the consumer"));
    await sink?.close().catch(closeFailed("the producer"));
    await deadLetters?.close().catch(closeFailed("the errors producer"));
    await admin.disconnect().catch(() => {});
    if (outAdmin !== admin) await outAdmin.disconnect().catch(() => {});
  }
}
