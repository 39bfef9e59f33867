/**
 * The JSON envelope of one Kafka message, one a line: what topic-cat prints
 * with `--format json` and reads back with `--produce --format json`, so a
 * dump replays into another topic byte for byte (key, value, headers in
 * order with repeats and nulls, timestamp, partition).
 *
 * Bytes are text when they are valid UTF-8 and `{"base64": "..."}` otherwise;
 * null stays null. Headers are a list of [name, value] pairs, never an
 * object, because a name may repeat and order may matter. With a value
 * format (JSON, Avro) `value` holds the decoded value and `value_format`
 * says so; such an envelope is for reading, and only a JSON one can be
 * produced again (re-serialized, so not byte-exact).
 *
 * @example
 * const line = envelopeLine(message);
 * // {"topic":"t","partition":0,"offset":42,"timestamp":1742331926000,"key":"k","value":{"base64":"/w=="},"headers":[["h","v"]]}
 * const back = parseEnvelope(line, "dump.jsonl:1"); // { key: Buffer, value: Buffer, headers: [["h", Buffer]], ... }
 */

/** Headers in wire order; a name may repeat; a value may be null; a name is bytes only when not valid UTF-8. */
export type HeaderPairs = [name: string | Buffer, value: Buffer | null][];

/** One message as read, independent of the client library. */
export interface CatMessage {
  topic: string;
  partition: number;
  offset: string;
  /** Milliseconds since the epoch, as a string. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: HeaderPairs;
}

/** Bytes in an envelope: UTF-8 text, base64 for anything else, or null. */
export type EnvelopeBytes = string | { base64: string } | null;

export interface Envelope {
  topic: string;
  partition: number;
  /** A number, or a string of digits beyond 2^53. */
  offset: number | string;
  timestamp: number;
  key: EnvelopeBytes;
  /** EnvelopeBytes, or the decoded value when value_format is set. */
  value: unknown;
  /** A name is text, or {"base64": ...} when not valid UTF-8. */
  headers: [EnvelopeBytes, EnvelopeBytes][];
  /** Set when value holds a decoded value. */
  value_format?: "json" | "avro";
  value_schema_id?: number;
  /** Why --value-format could not decode the value (value then holds its bytes). */
  value_error?: string;
}

/** What a produced message needs from an envelope line. */
export interface EnvelopeMessage {
  partition?: number;
  timestamp?: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: HeaderPairs;
}

/** An envelope line that cannot be produced; the message names the line. */
export class EnvelopeError extends Error {
  override name = "EnvelopeError";
}

// ignoreBOM: a leading BOM is data and must survive the round trip.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes as envelope data: text when valid UTF-8, else base64. */
export function encodeBytes(bytes: Buffer | null | undefined): EnvelopeBytes {
  if (bytes === null || bytes === undefined) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return { base64: bytes.toString("base64") };
  }
}

/** Envelope data back to bytes; `where` names the line and field in errors. */
export function decodeBytes(data: unknown, where: string): Buffer | null {
  if (data === null || data === undefined) return null;
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (typeof data === "object" && !Array.isArray(data)) {
    const base64 = (data as { base64?: unknown }).base64;
    if (typeof base64 === "string" && Object.keys(data).length === 1 && /^[A-Za-z0-9+/]*={0,2}$/.test(base64)) {
      return Buffer.from(base64, "base64");
    }
  }
  throw new EnvelopeError(`${where} must be a string, {"base64": "..."} or null`);
}

/**
 * A value decoded by --value-format, as JSON text: for JSON the message's own
 * text (every digit kept, newlines turned to spaces), for Avro the decoded
 * value written as JSON. Or why it could not be decoded.
 */
export type DecodedValue = { format: "json" | "avro"; json: string; schemaId?: number } | { error: string };

/** The envelope of a message, with its value as bytes. */
export function toEnvelope(message: CatMessage): Envelope {
  const offset = BigInt(message.offset);
  return {
    topic: message.topic,
    partition: message.partition,
    offset: offset <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(offset) : message.offset,
    timestamp: Number(message.timestamp),
    key: encodeBytes(message.key),
    value: encodeBytes(message.value),
    headers: message.headers.map(([name, value]) => [typeof name === "string" ? name : encodeBytes(name), encodeBytes(value)]),
  };
}

/** One envelope line (no newline); a decoded value goes in as its JSON text, unparsed. */
export function envelopeLine(message: CatMessage, decoded?: DecodedValue): string {
  const envelope = toEnvelope(message);
  if (!decoded) return JSON.stringify(envelope);
  if ("error" in decoded) return JSON.stringify({ ...envelope, value_error: decoded.error });
  const { value: _bytes, headers, ...head } = envelope;
  const tail = { headers, value_format: decoded.format, ...(decoded.schemaId !== undefined ? { value_schema_id: decoded.schemaId } : {}) };
  return `${JSON.stringify(head).slice(0, -1)},"value":${decoded.json},${JSON.stringify(tail).slice(1)}`;
}

/**
 * Reads one envelope line for producing. Topic and offset are ignored (the
 * target decides them); partition and timestamp are kept when present.
 */
export function parseEnvelope(line: string, where: string): EnvelopeMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new EnvelopeError(`${where}: not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new EnvelopeError(`${where}: not a JSON object`);
  const e = parsed as Record<string, unknown>;
  const partition = e.partition;
  if (partition !== undefined && (typeof partition !== "number" || !Number.isInteger(partition) || partition < 0)) {
    throw new EnvelopeError(`${where}: 'partition' must be a whole number >= 0`);
  }
  const timestamp = e.timestamp;
  if (timestamp !== undefined && timestamp !== null && (typeof timestamp !== "number" || !Number.isInteger(timestamp) || timestamp < 0)) {
    throw new EnvelopeError(`${where}: 'timestamp' must be epoch milliseconds`);
  }
  let value: Buffer | null;
  if (e.value_format === "json") value = e.value === null ? null : Buffer.from(JSON.stringify(e.value), "utf8");
  else if (e.value_format !== undefined) {
    throw new EnvelopeError(`${where}: a value decoded as '${String(e.value_format)}' cannot be produced; dump without --value-format`);
  } else value = decodeBytes(e.value, `${where}: 'value'`);
  return {
    partition: partition as number | undefined,
    timestamp: typeof timestamp === "number" ? String(timestamp) : undefined,
    key: decodeBytes(e.key, `${where}: 'key'`),
    value,
    headers: parseHeaderPairs(e.headers, where),
  };
}

function parseHeaderPairs(headers: unknown, where: string): HeaderPairs {
  if (headers === undefined || headers === null) return [];
  if (!Array.isArray(headers)) throw new EnvelopeError(`${where}: 'headers' must be a list of [name, value] pairs`);
  return headers.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || pair[0] === null) {
      throw new EnvelopeError(`${where}: headers[${i}] must be a [name, value] pair`);
    }
    const name = typeof pair[0] === "string" ? pair[0] : decodeBytes(pair[0], `${where}: headers[${i}] name`)!;
    return [name, decodeBytes(pair[1], `${where}: headers[${i}] value`)];
  });
}
