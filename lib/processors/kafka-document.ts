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
 * Avro values (`valueFormat: "avro"`, Confluent-framed) are decoded with
 * their writer schema and mapped as lib/avro/types.ts describes (long →
 * Int64, timestamps → Date, decimal → Decimal128, bytes → Binary), and the
 * document gets `_kafka_value_schema_id`. Avro keys (`keyFormat: "avro"`)
 * land decoded in `_kafka_key`. The schemas a chunk needs are loaded by
 * {@link kafkaDocumentPrepare} before the chunk is processed.
 *
 * @example
 * const toDocument = kafkaDocumentProcessor({ idStrategy: "offset", valueFormat: "json" });
 * toDocument(record); // { kind: "write", item: { user_id: "1", _id: "logins:0:42", _kafka_offset: 42, ... } }
 */
import { BSON, Binary, Long, ObjectId, type Document } from "mongodb";
import type { AvroDecoder } from "../avro/decoder.ts";
import type { Outcome, Processor, SourceRecord } from "../engine/record.ts";
import { parseJsonExact } from "./exact-json.ts";
import { errorMessage } from "../errors.ts";

export type IdStrategy = "offset" | "key" | "objectid";
export type ValueFormat = "json" | "text" | "avro";
export type KeyFormat = "text" | "avro";

export interface KafkaDocumentOptions {
  idStrategy: IdStrategy;
  valueFormat: ValueFormat;
  /** "text" by default: UTF-8, or binary when it is not. */
  keyFormat?: KeyFormat;
  /** Required when either format is "avro". */
  avro?: AvroDecoder;
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
  const avro = options.avro;
  const avroKeys = options.keyFormat === "avro";
  if ((options.valueFormat === "avro" || avroKeys) && !avro) throw new Error("the avro format needs a decoder");
  const body = options.valueFormat === "avro" ? (r: SourceRecord) => avroBody(r.value, avro!) : (r: SourceRecord) => textBody(r.value, options.valueFormat);
  return (record) => {
    let key: unknown = null;
    if (record.key !== null) {
      try {
        key = avroKeys ? avro!.decode(record.key).value : textOrBinary(record.key);
      } catch (error) {
        return { kind: "dead", reason: `key: ${errorMessage(error)}`, stage: "parse" };
      }
    }
    const outcome = body(record);
    if (outcome.kind !== "write") return outcome;
    return toDocument(record, outcome.item, key, options.idStrategy, now());
  };
}

/** What the engine awaits before each chunk: the schemas its Avro keys and values name; undefined without Avro. */
export function kafkaDocumentPrepare(options: KafkaDocumentOptions): ((records: SourceRecord[]) => Promise<void>) | undefined {
  const values = options.valueFormat === "avro";
  const keys = options.keyFormat === "avro";
  const avro = options.avro;
  if (!avro || (!values && !keys)) return undefined;
  return (records) => avro.prepare(records.flatMap((r) => [values ? r.value : null, keys ? r.key : null]));
}

/** A decoded Avro value: a record's (or map's) fields at top level, anything else under `value`. */
function avroBody(value: Buffer | null, avro: AvroDecoder): Outcome<Document> {
  if (value === null) return { kind: "write", item: { value: null } };
  try {
    const decoded = avro.decode(value);
    const body = isFieldsObject(decoded.value) ? keepOwnFields(decoded.value) : { value: decoded.value };
    body._kafka_value_schema_id = decoded.schemaId;
    return { kind: "write", item: body };
  } catch (error) {
    return { kind: "dead", reason: errorMessage(error), stage: "parse" };
  }
}

/** An Avro record or map; not the Buffer, Date or Decimal128 of a single-value schema. */
function isFieldsObject(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && !Buffer.isBuffer(value) && !(value instanceof Date) && !("_bsontype" in value);
}

function textBody(value: Buffer | null, valueFormat: ValueFormat): Outcome<Document> {
  let text: string | null;
  try {
    text = value === null ? null : utf8.decode(value);
  } catch {
    return { kind: "dead", reason: "invalid UTF-8 in the message value", stage: "parse" };
  }
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
      return { kind: "dead", reason: `invalid JSON: ${errorMessage(error)}`, stage: "parse" };
    }
    body = isPlainObject(parsed) ? keepOwnFields(parsed) : { value: parsed };
  }
  return { kind: "write", item: body };
}

function toDocument(record: SourceRecord, body: Document, key: unknown, idStrategy: IdStrategy, processedAt: Date): Outcome<Document> {
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

function documentId(record: SourceRecord, key: unknown, strategy: IdStrategy): unknown {
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
