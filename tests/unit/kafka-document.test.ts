import { describe, expect, test } from "bun:test";
import { BSON, Binary, Long, type Document } from "mongodb";
import type { SourceRecord } from "../../lib/engine/record.ts";
import { parseJsonExact } from "../../lib/processors/exact-json.ts";
import { kafkaDocumentProcessor, nestingDepth } from "../../lib/processors/kafka-document.ts";

const NOW = new Date("2026-01-02T03:04:05Z");

function record(value: string | Buffer | null, extra: Partial<SourceRecord> = {}): SourceRecord {
  const bytes = typeof value === "string" ? Buffer.from(value) : value;
  return { topic: "t", partition: 1, offset: "42", key: Buffer.from("k"), value: bytes, headers: {}, timestamp: "1700000000000", size: 10, ...extra };
}

function documentOf(r: SourceRecord, idStrategy: "offset" | "key" = "offset"): Document {
  const outcome = kafkaDocumentProcessor({ idStrategy, valueFormat: "json", now: () => NOW })(r);
  if (outcome.kind !== "write") throw new Error(`expected a document, got ${JSON.stringify(outcome)}`);
  return outcome.item;
}

describe("parseJsonExact", () => {
  test("integers beyond ±2^53 keep every digit; everything else is JSON.parse's result", () => {
    const text = '{"big":1234567890123456789,"neg":-9223372036854775808,"safe":9007199254740991,"f":1.5e300,"s":"12345678901234567890","a":[18446744073709551617,{"__proto__":1}]}';
    const parsed = parseJsonExact(text) as Record<string, unknown>;
    expect(parsed.big).toBe(1234567890123456789n);
    expect(parsed.neg).toBe(-9223372036854775808n);
    expect(parsed.safe).toBe(9007199254740991);
    expect(parsed.f).toBe(1.5e300);
    expect(parsed.s).toBe("12345678901234567890");
    expect((parsed.a as unknown[])[0]).toBe(18446744073709551617n);
    expect(Object.getPrototypeOf((parsed.a as object[])[1])).toBe(Object.prototype);
    expect(Object.keys((parsed.a as object[])[1]!)).toEqual(["__proto__"]);
  });

  test("ordinary messages get JSON.parse's own result, strings with escapes included", () => {
    const text = '{"id":"x\\"y\\u00e9","n":[1,2.5,-3],"t":true,"z":null,"ts":1700000000000}';
    expect(parseJsonExact(text)).toEqual(JSON.parse(text));
    const withLongString = '{"card":"4111111111111111","v":{"w":[{"x":"\\\\"}]},"big":12345678901234567}';
    expect(parseJsonExact(withLongString)).toEqual({ card: "4111111111111111", v: { w: [{ x: "\\" }] }, big: 12345678901234567n });
  });

  test("invalid JSON throws JSON.parse's error", () => {
    expect(() => parseJsonExact('{"a": 12345678901234567890')).toThrow(SyntaxError);
  });
});

describe("kafka2mongo documents", () => {
  test("a large integer is an Int64 with every digit; beyond int64 it is a string of its digits", () => {
    const doc = documentOf(record('{"id":1234567890123456789,"huge":123456789012345678901234567890,"n":7}'));
    expect(doc.id).toBeInstanceOf(Long);
    expect((doc.id as Long).toString()).toBe("1234567890123456789");
    expect(doc.huge).toBe("123456789012345678901234567890");
    expect(doc.n).toBe(7);
    const bson = BSON.deserialize(BSON.serialize(doc), { useBigInt64: true });
    expect(bson.id).toBe(1234567890123456789n);
  });

  test("a message's own metadata-named fields are renamed with _value, never overwritten", () => {
    const doc = documentOf(
      record('{"_id":"own","_value_id":"taken","_kafka_topic":"mine","_kafka_offset":-1,"_processed_at":"yesterday","x":1}'),
    );
    expect(doc).toMatchObject({
      _id: "t:1:42",
      _value_value_id: "own",
      _value_id: "taken",
      _value_kafka_topic: "mine",
      _kafka_topic: "t",
      _value_kafka_offset: -1,
      _kafka_offset: 42,
      _value_processed_at: "yesterday",
      _processed_at: NOW,
      x: 1,
    });
  });

  test("a key or header that is not UTF-8 is stored as binary and the message lands", () => {
    const key = Buffer.from([0xff, 0xfe, 0x00, 0xc3]);
    const doc = documentOf(record('{"a":1}', { key, headers: { bin: Buffer.from([0xc3, 0x28]), txt: Buffer.from("ok"), none: null as unknown as Buffer } }));
    expect(doc._kafka_key).toBeInstanceOf(Binary);
    expect(Buffer.from((doc._kafka_key as Binary).buffer)).toEqual(key);
    expect((doc._kafka_headers as Record<string, unknown>).txt).toBe("ok");
    expect(Buffer.from(((doc._kafka_headers as Record<string, Binary>).bin!).buffer)).toEqual(Buffer.from([0xc3, 0x28]));
    expect((doc._kafka_headers as Record<string, unknown>).none).toBeNull();
    const byKey = documentOf(record('{"a":1}', { key }), "key");
    expect(byKey._id).toBeInstanceOf(Binary);
  });

  test("a value that is not UTF-8 still goes to the dead-letter topic", () => {
    const outcome = kafkaDocumentProcessor({ idStrategy: "offset", valueFormat: "json" })(record(Buffer.from([0x7b, 0xff, 0x7d])));
    expect(outcome).toMatchObject({ kind: "dead", stage: "parse" });
  });

  test("4f: JSON nested 20k deep is dead-lettered, not a stack overflow in the BSON serializer", () => {
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    const outcome = kafkaDocumentProcessor({ idStrategy: "offset", valueFormat: "json" })(record(deep));
    expect(outcome).toMatchObject({ kind: "dead", stage: "parse", reason: "JSON nested 20000 levels deep, more than MongoDB's 100" });
    expect(nestingDepth('{"a":"[[[{{","b":[{"c":"\\"}]}')).toBe(3);
  });
});
