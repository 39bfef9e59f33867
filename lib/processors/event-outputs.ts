/**
 * What process-events writes for one input message, by its verdict:
 * processed events as JSON to the processed topic (same key; headers
 * x-source-topic, x-source-partition, x-source-offset), filtered messages'
 * original bytes to the filtered topic when there is one (plus
 * x-filter-reason and x-filter-stage), and errors' original bytes to the
 * errors topic with the dead-letter headers (x-dlq-reason, x-dlq-stage, ...),
 * so verify-topic reconciles them like any dead-letter topic. Summaries are
 * JSON keyed by `<topic>/<partition>`.
 *
 * @example
 * const out = eventOutputs(record, verdict, { processed: "processed-output", errors: "processed-errors", filtered: null });
 * // [{ topic: "processed-output", key, value: Buffer<{"user_id":...}>, headers: { "x-source-topic": "user-login", ... } }]
 */
import type { IHeaders } from "kafkajs";
import { deadLetterMessage, DLQ_HEADERS } from "../sinks/dead-letter-topic.ts";
import type { SourceRecord } from "../engine/record.ts";
import type { EventVerdict } from "./event-steps.ts";
import type { Summary } from "./summary-window.ts";

/** A message for one output topic. */
export interface OutputMessage {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | string;
  headers: IHeaders;
  timestamp?: string;
}

export interface OutputTopics {
  processed: string;
  errors: string;
  /** null: filtered messages are only counted. */
  filtered: string | null;
}

export const FILTER_HEADERS = { reason: "x-filter-reason", stage: "x-filter-stage" } as const;

export function eventOutputs(record: SourceRecord, verdict: EventVerdict, topics: OutputTopics, now: Date = new Date()): OutputMessage | undefined {
  switch (verdict.kind) {
    case "processed":
      return {
        topic: topics.processed,
        key: record.key,
        value: JSON.stringify(verdict.event),
        headers: sourceHeaders(record),
        timestamp: record.timestamp,
      };
    case "filtered":
      if (topics.filtered === null) return undefined;
      return {
        topic: topics.filtered,
        key: record.key,
        value: record.value ?? Buffer.alloc(0),
        headers: { ...sourceHeaders(record), [FILTER_HEADERS.reason]: verdict.reason, [FILTER_HEADERS.stage]: verdict.stage },
        timestamp: record.timestamp,
      };
    case "error": {
      const letter = deadLetterMessage({ record, reason: verdict.reason, stage: verdict.stage }, now);
      return { topic: topics.errors, key: letter.key ?? null, value: letter.value ?? Buffer.alloc(0), headers: letter.headers ?? {}, timestamp: record.timestamp };
    }
  }
}

function sourceHeaders(record: SourceRecord): IHeaders {
  return {
    [DLQ_HEADERS.sourceTopic]: record.topic,
    [DLQ_HEADERS.sourcePartition]: String(record.partition),
    [DLQ_HEADERS.sourceOffset]: record.offset,
  };
}

/**
 * A summary as its output message: the counts named in the pipeline file at
 * top level next to processed, filtered and errors (seed 004's fields), plus
 * the input partition and offsets it covers.
 */
export function summaryMessage(summary: Summary, topic: string, now: Date = new Date()): OutputMessage {
  const { counts, ...rest } = summary;
  return {
    topic,
    key: `${summary.topic}/${summary.partition}`,
    value: JSON.stringify({ ...rest, ...counts, summarized_at: now.toISOString() }),
    headers: {},
  };
}
