/**
 * Metrics of a pipeline run on the engine (kafka2mongo, kafka2kafka, ...):
 * messages by outcome and topic, bytes, sink write latency, retries and sink
 * errors, commits and committed offsets, lag per partition and the queue of
 * chunks waiting for the sink. The counters move when a chunk is committed,
 * so at the end of a run they equal the summary's numbers.
 *
 * @example
 * const metrics = pipelineMetrics(registry, { tool: "kafka2mongo", sink: "mongodb" });
 * events.on("chunk.committed", metrics.chunkCommitted);
 * await runPipeline({ ...options, events });
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ChunkCommittedEvent } from "../engine/events.ts";
import { METRIC_PREFIX } from "./registry.ts";

/** What one committed chunk contributed. */
export type CommittedChunk = ChunkCommittedEvent;

export interface PipelineMetrics {
  chunkCommitted(chunk: CommittedChunk): void;
  /** One attempt to write to the sink failed and will be retried. */
  sinkRetry(): void;
  /** One attempt to write to the sink (or the dead-letter topic) failed, retried or not. */
  sinkError(): void;
  /** An offset commit went through: `offset` is the next offset the group will read. */
  offsetCommitted(topic: string, partition: number, offset: string | number): void;
  lag(topic: string, partition: number, lag: number): void;
  queuedChunks(count: number): void;
}

/** Write latency buckets: a FerretDB insertMany of 500 documents takes tens of ms, an outage seconds. */
const WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface PipelineMetricsOptions {
  tool: string;
  sink: string;
  /** Topics known at start: their series start at 0, so increase() sees the first message. */
  topics?: string[];
}

export function pipelineMetrics(registry: Registry, options: PipelineMetricsOptions): PipelineMetrics {
  const { tool, sink } = options;
  const registers = [registry];
  const byTopic = ["tool", "topic"] as const;
  const counter = (name: string, help: string) =>
    new Counter({ name: `${METRIC_PREFIX}${name}`, help, labelNames: byTopic, registers });
  const consumed = counter("messages_consumed_total", "Messages consumed and accounted for (committed)");
  const written = counter("messages_written_total", "Messages written to the sink");
  const deadLettered = counter("messages_dead_lettered_total", "Messages sent to the dead-letter topic");
  const skipped = counter("messages_skipped_total", "Messages deliberately not written (e.g. loop prevention)");
  const duplicates = counter("messages_duplicate_total", "Redelivered messages the sink already held");
  const bytes = counter("consumed_bytes_total", "Key and value bytes of the messages consumed");
  const writeSeconds = new Histogram({
    name: `${METRIC_PREFIX}sink_write_duration_seconds`,
    help: "Time to make one chunk durable in the sink (and dead-letter topic), retries included",
    labelNames: ["tool", "sink"] as const,
    buckets: WRITE_BUCKETS,
    registers,
  });
  const bySink = ["tool", "sink"] as const;
  const retries = new Counter({ name: `${METRIC_PREFIX}sink_retries_total`, help: "Sink write attempts that failed and were retried", labelNames: bySink, registers });
  const errors = new Counter({ name: `${METRIC_PREFIX}sink_errors_total`, help: "Sink writes that failed (retried or not)", labelNames: bySink, registers });
  const byPartition = ["tool", "topic", "partition"] as const;
  const commits = new Counter({ name: `${METRIC_PREFIX}commits_total`, help: "Offset commits", labelNames: byTopic, registers });
  const committedOffset = new Gauge({
    name: `${METRIC_PREFIX}committed_offset`,
    help: "Next offset the group reads, as last committed",
    labelNames: byPartition,
    registers,
  });
  const lag = new Gauge({ name: `${METRIC_PREFIX}consumer_lag`, help: "Messages the group still has to read", labelNames: byPartition, registers });
  const queued = new Gauge({ name: `${METRIC_PREFIX}queued_chunks`, help: "Chunks consumed and waiting for the sink", labelNames: ["tool"] as const, registers });
  const lastProgress = new Gauge({
    name: `${METRIC_PREFIX}last_commit_timestamp_seconds`,
    help: "Unix time of the last committed chunk",
    labelNames: ["tool"] as const,
    registers,
  });
  // Series exist from the start, so a rate over them is 0 rather than absent.
  writeSeconds.zero({ tool, sink });
  retries.inc({ tool, sink }, 0);
  errors.inc({ tool, sink }, 0);
  queued.set({ tool }, 0);
  for (const topic of options.topics ?? []) {
    for (const c of [consumed, written, deadLettered, skipped, duplicates, bytes, commits]) c.inc({ tool, topic }, 0);
  }

  return {
    chunkCommitted(chunk) {
      const labels = { tool, topic: chunk.topic };
      consumed.inc(labels, chunk.records);
      written.inc(labels, chunk.written);
      deadLettered.inc(labels, chunk.deadLettered);
      skipped.inc(labels, chunk.skipped);
      duplicates.inc(labels, chunk.duplicates);
      bytes.inc(labels, chunk.bytes);
      writeSeconds.observe({ tool, sink }, chunk.writeMs / 1000);
      lastProgress.set({ tool }, Date.now() / 1000);
    },
    sinkRetry() {
      retries.inc({ tool, sink });
    },
    sinkError() {
      errors.inc({ tool, sink });
    },
    offsetCommitted(topic, partition, offset) {
      commits.inc({ tool, topic });
      committedOffset.set({ tool, topic, partition }, Number(offset));
    },
    lag(topic, partition, value) {
      lag.set({ tool, topic, partition }, value);
    },
    queuedChunks(count) {
      queued.set({ tool }, count);
    },
  };
}
