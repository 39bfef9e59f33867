/**
 * What the engine moves: one message with where it came from, and what a
 * processor decides to do with it. Sources build records; nothing here
 * depends on a client library.
 *
 * @example
 * const record: SourceRecord = { topic: "logins", partition: 0, offset: "42", key: null,
 *   value: Buffer.from("{}"), headers: {}, timestamp: "1742331926000", size: 2 };
 * const outcome: Outcome<Doc> = { kind: "write", item: toDocument(record) };
 */

/** Message headers as Kafka carries them: a name may repeat, a value may be absent. */
export interface RecordHeaders {
  [name: string]: Buffer | string | (Buffer | string)[] | undefined;
}

/**
 * One header as written. The name is a string, or its bytes when they are not
 * valid UTF-8; the value is null for a header without one.
 */
export interface HeaderEntry {
  key: string | Buffer;
  value: Buffer | string | null;
}

export interface SourceRecord {
  topic: string;
  partition: number;
  /** Offsets stay strings: they are int64 and may exceed 2^53. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
  /**
   * The same headers in wire order, byte for byte: repeated names stay where
   * they were, null values stay null. Absent when the source has no order.
   */
  headerList?: readonly HeaderEntry[];
  /** Milliseconds since the epoch, as a string. */
  timestamp: string;
  /** Bytes of key and value, for throughput figures and memory bounds. */
  size: number;
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
