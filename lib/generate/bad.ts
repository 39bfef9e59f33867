/**
 * Malformed messages for dead-letter testing, one kind at a time, each made
 * from a good value so it looks like real traffic gone wrong.
 *
 * @example
 * badValue("missing-fields", { user_id: "1", ip: "1.2.3.4" }, ["user_id", "ip"], random);
 * // Buffer of {"ip":"1.2.3.4"} (one or more required fields removed)
 */
import type { Random } from "./random.ts";

export const BAD_KINDS = ["invalid-json", "invalid-utf8", "empty", "missing-fields", "wrong-types"] as const;
export type BadKind = (typeof BAD_KINDS)[number];

// A lone continuation byte and a truncated two-byte sequence: both are
// rejected by every strict UTF-8 decoder.
const INVALID_UTF8 = Buffer.from([0xc3, 0x28, 0xff]);

export function badValue(
  kind: BadKind,
  good: Record<string, unknown>,
  required: readonly string[],
  random: Random,
): Buffer {
  switch (kind) {
    case "invalid-json": {
      const text = JSON.stringify(good);
      return Buffer.from(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
    }
    case "invalid-utf8": {
      const text = Buffer.from(JSON.stringify(good));
      const at = random.int(1, text.length - 1);
      return Buffer.concat([text.subarray(0, at), INVALID_UTF8, text.subarray(at)]);
    }
    case "empty":
      return Buffer.alloc(0);
    case "missing-fields":
      return Buffer.from(JSON.stringify(withoutFields(good, required, random)));
    case "wrong-types":
      return Buffer.from(JSON.stringify(withWrongType(good, required, random)));
  }
}

function withoutFields(good: Record<string, unknown>, required: readonly string[], random: Random) {
  const copy = { ...good };
  const count = random.int(1, Math.min(2, required.length));
  const candidates = [...required];
  for (let i = 0; i < count; i++) {
    const [field] = candidates.splice(random.int(0, candidates.length - 1), 1);
    if (field !== undefined) delete copy[field];
  }
  return copy;
}

function withWrongType(good: Record<string, unknown>, required: readonly string[], random: Random) {
  const field = random.pick(required);
  const value = good[field];
  const wrong = typeof value === "number" ? String(value) : typeof value === "string" ? random.int(0, 99_999) : "x";
  return { ...good, [field]: wrong };
}
