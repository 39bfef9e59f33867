/**
 * Decoded Avro values as plain JSON, for reports and JSON outputs: a long
 * stays a number while it is exact and becomes a string past 2^53, Dates
 * become ISO strings, decimals their exact text, bytes and fixed base64.
 *
 * @example
 * toJsonValue({ n: 12345678901234567890n, at: new Date(0) });
 * // { n: "12345678901234567890", at: "1970-01-01T00:00:00.000Z" }
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function toJsonValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString();
    return value;
  }
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (Array.isArray(value)) return value.map(toJsonValue);
  if ((value as { _bsontype?: string })._bsontype === "Decimal128") return String(value);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) out[key] = toJsonValue(field);
  return out;
}
