/**
 * The dead-letter route: a message that cannot be processed or that the
 * sink refuses is copied, with its original key, value and headers, to a
 * dead-letter topic, plus headers that say why, where and when.
 *
 * @example
 * const dlq = await openDeadLetterTopic(kafka, "logins.dlq", log);
 * await dlq.send([{ record, reason: "invalid JSON: Unexpected token", stage: "parse" }]);
 */
import { Partitioners, type IHeaders, type Kafka, type Message, type Producer } from "kafkajs";
import { ensureTopic } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";
import type { SourceRecord } from "./record.ts";

export interface DeadLetter {
  record: SourceRecord;
  reason: string;
  /** Where it failed: parse, process, sink, ... */
  stage: string;
}

/** Header names, shared with verify-topic's reconciliation. */
export const DLQ_HEADERS = {
  reason: "x-dlq-reason",
  stage: "x-dlq-stage",
  time: "x-dlq-time",
  sourceTopic: "x-source-topic",
  sourcePartition: "x-source-partition",
  sourceOffset: "x-source-offset",
  sourceTimestamp: "x-source-timestamp",
} as const;

export function deadLetterMessage(letter: DeadLetter, now: Date = new Date()): Message {
  const { record } = letter;
  const headers: IHeaders = {
    ...sendableHeaders(record.headers),
    [DLQ_HEADERS.reason]: letter.reason.slice(0, 1000),
    [DLQ_HEADERS.stage]: letter.stage,
    [DLQ_HEADERS.time]: now.toISOString(),
    [DLQ_HEADERS.sourceTopic]: record.topic,
    [DLQ_HEADERS.sourcePartition]: String(record.partition),
    [DLQ_HEADERS.sourceOffset]: record.offset,
    [DLQ_HEADERS.sourceTimestamp]: record.timestamp,
  };
  return { key: record.key, value: record.value, headers, timestamp: record.timestamp };
}

// kafkajs cannot send a header whose value is null or undefined (it reads one
// back as such for a header with no value); dropping it keeps the letter sendable.
function sendableHeaders(headers: IHeaders): IHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== null && value !== undefined));
}

export interface DeadLetterTopic {
  readonly topic: string;
  /** Resolves once every letter is acknowledged by all in-sync replicas. */
  send(letters: DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

export async function openDeadLetterTopic(kafka: Kafka, topic: string, log: Logger): Promise<DeadLetterTopic> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await ensureTopic(admin, topic)).created) log.info("created dead-letter topic", { topic });
  } catch (error) {
    // Without create permission the broker may still auto-create it on first send.
    log.warn("could not create dead-letter topic; relying on auto-creation", { topic, error: String(error) });
  } finally {
    await admin.disconnect();
  }
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    topic,
    async send(letters) {
      if (letters.length === 0) return;
      await producer.send({ topic, acks: -1, messages: letters.map((l) => deadLetterMessage(l)) });
    },
    close: () => producer.disconnect(),
  };
}
