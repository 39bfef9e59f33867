/**
 * Builds the MongoDB document for a Kafka record, in the shape of the
 * original Kafka2Mongo: a JSON object's fields at top level (anything else
 * under `value`), plus the record's Kafka metadata.
 *
 * With id strategy "offset" the _id is `<topic>:<partition>:<offset>`, so a
 * redelivered record can never become a second document.
 *
 * @example
 * const toDocument = kafkaDocumentProcessor({ idStrategy: "offset", valueFormat: "json" });
 * toDocument(record); // { kind: "write", item: { user_id: "1", _id: "logins:0:42", _kafka_offset: 42, ... } }
 */
import { BSON, ObjectId, type Document } from "mongodb";
import type { Outcome, Processor, SourceRecord } from "../engine/record.ts";

export type IdStrategy = "offset" | "key" | "objectid";
export type ValueFormat = "json" | "text";

export interface KafkaDocumentOptions {
  idStrategy: IdStrategy;
  valueFormat: ValueFormat;
  now?: () => Date;
}

/** MongoDB's document size limit; FerretDB applies the same one. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
// BSON can be a few times larger than the JSON it came from (arrays of small
// numbers), so values above this size get an exact BSON size check.
const SIZE_CHECK_FROM_BYTES = 2 * 1024 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function kafkaDocumentProcessor(options: KafkaDocumentOptions): Processor<Document> {
  const now = options.now ?? (() => new Date());
  return (record) => toDocument(record, options.idStrategy, options.valueFormat, now());
}

function toDocument(record: SourceRecord, idStrategy: IdStrategy, valueFormat: ValueFormat, processedAt: Date): Outcome<Document> {
  let text: string | null = null;
  let key: string | null = null;
  try {
    text = record.value === null ? null : utf8.decode(record.value);
    key = record.key === null ? null : utf8.decode(record.key);
  } catch {
    return { kind: "dead", reason: `invalid UTF-8 in the message ${text === null && record.value !== null ? "value" : "key"}`, stage: "parse" };
  }

  let body: Document;
  if (text === null) body = { value: null };
  else if (valueFormat === "text") body = { value: text };
  else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return { kind: "dead", reason: `invalid JSON: ${(error as Error).message}`, stage: "parse" };
    }
    body = isPlainObject(parsed) ? liftId(parsed) : { value: parsed };
  }

  const id = documentId(record, key, idStrategy);
  if (id === undefined) return { kind: "dead", reason: "message has no key, needed by --id-strategy key", stage: "parse" };

  // body is a fresh object parsed for this record alone, so the metadata is
  // added in place: a spread would copy every field of every message again.
  const document: Document = Object.assign(body, {
    _id: id,
    _kafka_key: key,
    _kafka_topic: record.topic,
    _kafka_partition: record.partition,
    _kafka_offset: Number(record.offset),
    _kafka_timestamp: new Date(Number(record.timestamp)),
    _kafka_headers: decodeHeaders(record.headers),
    _processed_at: processedAt,
  });
  if (record.size > SIZE_CHECK_FROM_BYTES) {
    const size = BSON.calculateObjectSize(document);
    if (size > MAX_DOCUMENT_BYTES) {
      return { kind: "dead", reason: `document is ${size} bytes, over MongoDB's ${MAX_DOCUMENT_BYTES}-byte limit`, stage: "sink" };
    }
  }
  return { kind: "write", item: document };
}

function documentId(record: SourceRecord, key: string | null, strategy: IdStrategy): unknown {
  switch (strategy) {
    case "offset":
      return `${record.topic}:${record.partition}:${record.offset}`;
    case "key":
      return key ?? undefined;
    case "objectid":
      // Made once per record, before the first insert attempt, so a retried
      // batch hits duplicate keys instead of creating copies.
      return new ObjectId();
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The message's own `_id` would be overwritten by ours; keep it under `_value_id`. */
function liftId(object: Record<string, unknown>): Document {
  if (!("_id" in object)) return object;
  const { _id, ...rest } = object;
  return { ...rest, _value_id: _id };
}

/** Header values as UTF-8 text; a repeated header becomes an array. */
export function decodeHeaders(headers: SourceRecord["headers"]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map((v) => v.toString()) : value.toString();
  }
  return out;
}
