/**
 * What a message value is, as a consumer would find out: empty, not UTF-8,
 * UTF-8 but not JSON, or JSON. The kinds match the malformed messages that
 * produce-test-data makes.
 *
 * @example
 * decodeValue(Buffer.from('{"a":1}')); // { kind: "json", value: { a: 1 }, text: '{"a":1}' }
 * decodeValue(Buffer.from([0xff]));    // { kind: "invalid-utf8" }
 * decodeValue(null);                   // { kind: "empty" }
 */

export type DecodedValue =
  | { kind: "json"; value: unknown; text: string }
  | { kind: "invalid-json"; text: string }
  | { kind: "invalid-utf8" }
  /** A null (tombstone) or zero-length value. */
  | { kind: "empty" };

export type ValueKind = DecodedValue["kind"];

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeValue(value: Buffer | null): DecodedValue {
  if (value === null || value.length === 0) return { kind: "empty" };
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { kind: "invalid-utf8" };
  }
  try {
    return { kind: "json", value: JSON.parse(text), text };
  } catch {
    return { kind: "invalid-json", text };
  }
}
