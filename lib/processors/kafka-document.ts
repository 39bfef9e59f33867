/**
 * Builds the MongoDB document for a Kafka record, in the shape of the
 * original Kafka2Mongo: a JSON object's fields at top level (anything else
 * under `value`), plus the record's Kafka metadata.
 *
 * With id strategy "offset" the _id is `<topic>:<partition>:<offset>`, so a
 * redelivered record can never become a second document.
 *
 * Values are kept exact: an integer beyond ±2^53 is an Int64 (a string of its
 * digits beyond the int64 range); a key or header value that is not UTF-8 is
 * BSON binary; a message's own field named like a metadata field is renamed
 * with a `_value` prefix rather than overwritten.
 *
 * @example
 * const toDocument = kafkaDocumentProcessor({ idStrategy: "offset", valueFormat: "json" });
 * toDocument(record); // { kind: "write", item: { user_id: "1", _id: "logins:0:42", _kafka_offset: 42, ... } }
 */
import { BSON, Binary, Long, ObjectId, type Document } from "mongodb";
import type { Outcome, Processor, SourceRecord } from "../engine/record.ts";
import { parseJsonExact } from "./exact-json.ts";

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

/** MongoDB refuses documents nested deeper than this. */
const MAX_NESTING = 100;
// Nesting deep enough to overflow the BSON serializer's recursion takes
// thousands of brackets; shorter values are left to the server to judge, so
// ordinary messages pay nothing for this check.
const NESTING_CHECK_FROM_CHARS = 2048;

/** Deepest nesting of objects and arrays in JSON text, outside strings. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

export function kafkaDocumentProcessor(options: KafkaDocumentOptions): Processor<Document> {
  const now = options.now ?? (() => new Date());
  return (record) => toDocument(record, options.idStrategy, options.valueFormat, now());
}

function toDocument(record: SourceRecord, idStrategy: IdStrategy, valueFormat: ValueFormat, processedAt: Date): Outcome<Document> {
  let text: string | null;
  try {
    text = record.value === null ? null : utf8.decode(record.value);
  } catch {
    return { kind: "dead", reason: "invalid UTF-8 in the message value", stage: "parse" };
  }
  const key = record.key === null ? null : textOrBinary(record.key);

  let body: Document;
  if (text === null) body = { value: null };
  else if (valueFormat === "text") body = { value: text };
  else {
    if (text.length > NESTING_CHECK_FROM_CHARS) {
      const depth = nestingDepth(text);
      if (depth > MAX_NESTING) return { kind: "dead", reason: `JSON nested ${depth} levels deep, more than MongoDB's ${MAX_NESTING}`, stage: "parse" };
    }
    let parsed: unknown;
    try {
      parsed = parseJsonExact(text, bigIntegerValue);
    } catch (error) {
      return { kind: "dead", reason: `invalid JSON: ${(error as Error).message}`, stage: "parse" };
    }
    body = isPlainObject(parsed) ? keepOwnFields(parsed) : { value: parsed };
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
    _kafka_headers: documentHeaders(record.headers),
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

function documentId(record: SourceRecord, key: string | Binary | null, strategy: IdStrategy): unknown {
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

/** The fields kafka2mongo adds to every document. */
export const METADATA_FIELDS = [
  "_id",
  "_kafka_key",
  "_kafka_topic",
  "_kafka_partition",
  "_kafka_offset",
  "_kafka_timestamp",
  "_kafka_headers",
  "_processed_at",
] as const;

/**
 * A message's own field named like a metadata field is kept, renamed with a
 * `_value` prefix (`_id` → `_value_id`, `_kafka_topic` → `_value_kafka_topic`,
 * again if that name is taken too), so the metadata never overwrites it.
 */
function keepOwnFields(object: Record<string, unknown>): Document {
  for (const name of METADATA_FIELDS) {
    if (!Object.hasOwn(object, name)) continue;
    let renamed = `_value${name}`;
    while (Object.hasOwn(object, renamed)) renamed = `_value${renamed}`;
    object[renamed] = object[name];
    delete object[name];
  }
  return object;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An integer JSON.parse would round: an Int64 within its range; beyond it a
 * string of its digits, since no BSON number type holds it exactly.
 */
function bigIntegerValue(digits: string): Long | string {
  const value = BigInt(digits);
  return value >= INT64_MIN && value <= INT64_MAX ? Long.fromBigInt(value) : digits;
}

/** Text when the bytes are UTF-8; otherwise BSON binary, byte for byte. */
function textOrBinary(bytes: Buffer): string | Binary {
  try {
    return utf8.decode(bytes);
  } catch {
    return new Binary(bytes);
  }
}

type HeaderValue = string | Binary | null;

/** Header values as UTF-8 text, or binary when they are not UTF-8; a repeated header becomes an array. */
function documentHeaders(headers: SourceRecord["headers"]): Record<string, HeaderValue | HeaderValue[]> {
  const out: Record<string, HeaderValue | HeaderValue[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map(headerValue) : headerValue(value);
  }
  return out;
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

// kafkajs gives a header sent without a value as null.
function headerValue(value: Buffer | string | null): HeaderValue {
  if (value === null) return null;
  return typeof value === "string" ? value : textOrBinary(value);
}
