/**
 * process-events as an engine processor: each input message's verdict
 * decides its outcome. Processed events are written as JSON (or another
 * encoding) to the processed topic (same key; headers x-source-topic,
 * x-source-partition, x-source-offset); filtered messages' original bytes go
 * to the filtered topic when there is one (plus x-filter-reason and
 * x-filter-stage), else they are skipped; errors are the engine's dead
 * letters (original bytes, x-dlq-reason, x-dlq-stage, ...), which the engine
 * writes to the errors topic, inside the chunk's transaction under
 * exactly-once. Summaries are JSON keyed by `<topic>/<partition>`.
 *
 * @example
 * const processor = eventProcessor(steps, { processed: "processed-output", filtered: null });
 * processor(record); // { kind: "write", item: { topic: "processed-output", key, value: '{"user_id":...}', headers, event } }
 */
import type { IHeaders } from "kafkajs";
import { DLQ_HEADERS } from "../sinks/dead-letter-topic.ts";
import type { Processor, SourceRecord } from "../engine/record.ts";
import type { KafkaOutput } from "../sinks/kafka.ts";
import { processEvent, type EventSteps } from "./event-steps.ts";
import type { Event } from "./step.ts";
import type { Summary } from "./summary-window.ts";

/** A message for an output topic; `event` is set on processed events (the summaries count it). */
export interface EventOutput extends KafkaOutput {
  event?: Event;
}

export interface OutputTopics {
  processed: string;
  /** null: filtered messages are only counted. */
  filtered: string | null;
}

/** Turns a processed event into the processed topic's value (JSON by default, Avro with --output-format avro). */
export type EventEncoder = (event: Event) => Buffer | string;

export const jsonEncoder: EventEncoder = (event) => JSON.stringify(event);

export const FILTER_HEADERS = { reason: "x-filter-reason", stage: "x-filter-stage" } as const;

export function eventProcessor(steps: EventSteps, topics: OutputTopics, encode: EventEncoder = jsonEncoder): Processor<EventOutput> {
  return (record) => {
    const verdict = processEvent(record.value, steps);
    switch (verdict.kind) {
      case "processed": {
        let value: Buffer | string;
        try {
          value = encode(verdict.event);
        } catch (error) {
          return { kind: "dead", reason: `cannot encode the event: ${(error as Error).message}`, stage: "encode" };
        }
        return {
          kind: "write",
          item: { topic: topics.processed, key: record.key, value, headers: sourceHeaders(record), timestamp: record.timestamp, event: verdict.event },
        };
      }
      case "filtered":
        if (topics.filtered === null) return { kind: "skip", reason: verdict.reason };
        return {
          kind: "write",
          item: {
            topic: topics.filtered,
            key: record.key,
            value: record.value ?? Buffer.alloc(0),
            headers: { ...sourceHeaders(record), [FILTER_HEADERS.reason]: verdict.reason, [FILTER_HEADERS.stage]: verdict.stage },
            timestamp: record.timestamp,
          },
        };
      case "error":
        return { kind: "dead", reason: verdict.reason, stage: verdict.stage };
    }
  };
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
export function summaryMessage(summary: Summary, topic: string, now: Date = new Date()): EventOutput {
  const { counts, ...rest } = summary;
  return {
    topic,
    key: `${summary.topic}/${summary.partition}`,
    value: JSON.stringify({ ...rest, ...counts, summarized_at: now.toISOString() }),
    headers: {},
  };
}
