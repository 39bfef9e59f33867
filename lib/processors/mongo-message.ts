/**
 * A MongoDB document as a Kafka message, as Kafka Connect's MongoDB source
 * connector writes it with its JSON output: the value is the document in
 * relaxed Extended JSON (or canonical, which keeps every BSON type exact),
 * and the key is the document's `_id` in the same form.
 *
 * @example
 * const toMessage = mongoMessage({ canonical: false });
 * toMessage({ _id: new ObjectId("65f0…"), n: 1 });
 * // { key: '{"$oid":"65f0…"}', value: '{"_id":{"$oid":"65f0…"},"n":1}' }
 */
import { BSON, type Document } from "mongodb";

export interface MongoMessageOptions {
  /** Canonical Extended JSON ({"$numberInt": "1"}) instead of relaxed (1). */
  canonical: boolean;
}

export interface MongoMessage {
  key: string;
  value: string;
}

export function mongoMessage(options: MongoMessageOptions): (document: Document) => MongoMessage {
  if (options.canonical) {
    return (document) => ({
      key: BSON.EJSON.stringify(document._id, { relaxed: false }),
      value: BSON.EJSON.stringify(document, { relaxed: false }),
    });
  }
  return (document) => ({
    key: BSON.EJSON.stringify(exactIntegers(document._id), { relaxed: true }),
    value: BSON.EJSON.stringify(exactIntegers(document), { relaxed: true }),
  });
}

const SAFE = { min: BigInt(Number.MIN_SAFE_INTEGER), max: BigInt(Number.MAX_SAFE_INTEGER) };

/**
 * The bson library writes every 64-bit integer as a JSON number in relaxed
 * mode, rounding those beyond 2^53; such values are kept as {"$numberLong"}
 * (as canonical mode writes them) so no digit is lost. Unchanged objects are
 * returned as they are.
 */
function exactIntegers(value: unknown): unknown {
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" && (value < SAFE.min || value > SAFE.max) ? { $numberLong: value.toString() } : value;
  }
  if ((value as { _bsontype?: string })._bsontype === "Long") {
    const big = BigInt(String(value));
    return big < SAFE.min || big > SAFE.max ? { $numberLong: big.toString() } : value;
  }
  if ((value as { _bsontype?: string })._bsontype !== undefined || value instanceof Date) return value;
  if (Array.isArray(value)) {
    const mapped = value.map(exactIntegers);
    return mapped.some((v, i) => v !== value[i]) ? mapped : value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, field] of Object.entries(value)) {
    const mapped = exactIntegers(field);
    if (mapped !== field) (copy ??= { ...(value as Record<string, unknown>) })[key] = mapped;
  }
  return copy ?? value;
}

/** A BSON value as canonical Extended JSON text, and back: how positions are stored without losing their type. */
export function encodePosition(value: unknown): string {
  return BSON.EJSON.stringify({ v: value }, { relaxed: false });
}

export function decodePosition(text: string): unknown {
  return (BSON.EJSON.parse(text, { relaxed: false }) as { v: unknown }).v;
}
