/**
 * What the engine moves: one Kafka message with where it came from, and what
 * a processor decides to do with it.
 *
 * @example
 * const record = toSourceRecord("logins", 0, kafkajsMessage);
 * const outcome: Outcome<Doc> = { kind: "write", item: toDocument(record) };
 */
import type { IHeaders, KafkaMessage } from "kafkajs";

export interface SourceRecord {
  topic: string;
  partition: number;
  /** Offsets stay strings: they are int64 and may exceed 2^53. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  /** Milliseconds since the epoch, as a string, as kafkajs gives it. */
  timestamp: string;
  /** Bytes of key and value, for throughput figures. */
  size: number;
}

export function toSourceRecord(topic: string, partition: number, message: KafkaMessage): SourceRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: message.headers ?? {},
    timestamp: message.timestamp,
    size: (message.key?.length ?? 0) + (message.value?.length ?? 0),
  };
}

/** A processor's verdict on one record. */
export type Outcome<T> =
  | { kind: "write"; item: T }
  /** Deliberately dropped (filtered, loop prevention); still committed. */
  | { kind: "skip"; reason: string }
  /** Cannot be processed; goes to the dead-letter topic. */
  | { kind: "dead"; reason: string; stage: string };

/**
 * Turns a record into an outcome. Throwing is treated as a dead letter with
 * stage "process", so a processor bug never stalls or loses a message.
 */
export type Processor<T> = (record: SourceRecord) => Outcome<T>;

/** Label for a record in logs and errors: `topic/partition@offset`. */
export function recordRef(record: Pick<SourceRecord, "topic" | "partition" | "offset">): string {
  return `${record.topic}/${record.partition}@${record.offset}`;
}

/** The offset to commit once `record` is durable: the next one to read. */
export function nextOffset(record: Pick<SourceRecord, "offset">): string {
  return (BigInt(record.offset) + 1n).toString();
}
