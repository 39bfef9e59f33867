import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSON, Decimal128, Long } from "mongodb";
import { avroDecoder, AvroDecodeError } from "../../lib/avro/decoder.ts";
import { AVRO_BAD_KINDS, avroEncoding } from "../../lib/avro/encoding.ts";
import { frame, readFrame, FramingError } from "../../lib/avro/framing.ts";
import { toJsonValue } from "../../lib/avro/json.ts";
import { createRegistryClient, RegistryUnavailableError } from "../../lib/avro/registry-client.ts";
import { fileSchemas, type SchemaLookup } from "../../lib/avro/schemas.ts";
import { avroType, SchemaError } from "../../lib/avro/types.ts";
import { schemaRegistrySection } from "../../lib/config/schema-registry-section.ts";
import { ConfigError, UsageError } from "../../lib/errors.ts";
import { kafkaDocumentPrepare, kafkaDocumentProcessor } from "../../lib/processors/kafka-document.ts";
import type { SourceRecord } from "../../lib/engine/record.ts";

const EVERY_TYPE = {
  type: "record",
  name: "Every",
  fields: [
    { name: "big", type: "long" },
    { name: "small", type: "int" },
    { name: "at_ms", type: { type: "long", logicalType: "timestamp-millis" } },
    { name: "at_us", type: { type: "long", logicalType: "timestamp-micros" } },
    { name: "day", type: { type: "int", logicalType: "date" } },
    { name: "price", type: { type: "bytes", logicalType: "decimal", precision: 20, scale: 4 } },
    { name: "fixed_price", type: { type: "fixed", name: "Money", size: 8, logicalType: "decimal", precision: 18, scale: 2 } },
    { name: "id", type: { type: "string", logicalType: "uuid" } },
    { name: "blob", type: "bytes" },
    { name: "hash", type: { type: "fixed", name: "Hash", size: 4 } },
    { name: "color", type: { type: "enum", name: "Color", symbols: ["RED", "GREEN"] } },
    { name: "maybe", type: ["null", "string"], default: null },
    { name: "nested", type: ["null", { type: "record", name: "Inner", fields: [{ name: "n", type: "long" }] }] },
    { name: "tags", type: { type: "array", items: "string" } },
    { name: "attrs", type: { type: "map", values: "long" } },
  ],
};

const SAMPLE = {
  big: 9_223_372_036_854_775_807n,
  small: 7,
  at_ms: new Date("2025-03-18T21:05:26.123Z"),
  at_us: new Date("2025-03-18T21:05:26.456Z"),
  day: new Date("2025-03-18T00:00:00Z"),
  price: Decimal128.fromString("-12345678901234.5678"),
  fixed_price: Decimal128.fromString("42.50"),
  id: "0bcbfec0-02c4-496c-99ac-35d0cc750f6b",
  blob: Buffer.from([0, 1, 2, 255]),
  hash: Buffer.from("abcd"),
  color: "GREEN",
  maybe: "here",
  nested: { n: -9_007_199_254_740_993n },
  tags: ["a", "b"],
  attrs: { x: 1n },
};

const lookupOf = (byId: Record<number, object>): SchemaLookup => ({
  source: "test",
  typeFor: async (id) => {
    const schema = byId[id];
    if (!schema) throw new SchemaError(`schema id ${id} not found`);
    return avroType(schema);
  },
});

describe("framing", () => {
  test("round-trips the schema id and finds the body", () => {
    const framed = frame(0x01020304, Buffer.from([9, 9]));
    expect([...framed]).toEqual([0, 1, 2, 3, 4, 9, 9]);
    expect(readFrame(framed)).toEqual({ schemaId: 0x01020304, bodyOffset: 5 });
  });
  test("names a wrong magic byte and a short value", () => {
    expect(() => readFrame(Buffer.from('{"a":1}'))).toThrow("magic byte 0x7b, expected 0x00");
    expect(() => readFrame(Buffer.from([0, 0]))).toThrow(FramingError);
  });
});

describe("avroType: values shaped for MongoDB", () => {
  const type = avroType(EVERY_TYPE);
  const decoded = type.decode(type.toBuffer(SAMPLE), 0).value as Record<string, unknown>;

  test("longs keep every digit as bigint, and are stored as Int64", () => {
    expect(decoded.big).toBe(9_223_372_036_854_775_807n);
    expect((decoded.nested as { n: bigint }).n).toBe(-9_007_199_254_740_993n);
    const stored = BSON.deserialize(BSON.serialize({ big: decoded.big }), { useBigInt64: true });
    expect(stored.big).toBe(9_223_372_036_854_775_807n);
    const asLong = BSON.deserialize(BSON.serialize({ big: decoded.big }), { promoteLongs: false });
    expect(asLong.big).toBeInstanceOf(Long);
  });
  test("timestamps and dates become Dates", () => {
    expect(decoded.at_ms).toEqual(new Date("2025-03-18T21:05:26.123Z"));
    expect(decoded.at_us).toEqual(new Date("2025-03-18T21:05:26.456Z"));
    expect(decoded.day).toEqual(new Date("2025-03-18T00:00:00Z"));
  });
  test("decimals become exact Decimal128, from bytes and from fixed", () => {
    expect(decoded.price).toBeInstanceOf(Decimal128);
    expect(String(decoded.price)).toBe("-12345678901234.5678");
    expect(String(decoded.fixed_price)).toBe("42.50");
  });
  test("uuid and enum are strings, bytes and fixed are Buffers (Binary in MongoDB), unions unwrapped", () => {
    expect(decoded.id).toBe(SAMPLE.id);
    expect(decoded.color).toBe("GREEN");
    expect(decoded.blob).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(decoded.hash).toEqual(Buffer.from("abcd"));
    expect(decoded.maybe).toBe("here");
    expect(decoded.nested).toEqual({ n: -9_007_199_254_740_993n });
    const stored = BSON.deserialize(BSON.serialize({ blob: decoded.blob }));
    expect(stored.blob._bsontype).toBe("Binary");
  });
  test("decimals as exact text for stores without Decimal128", () => {
    const asText = avroType(EVERY_TYPE, { decimals: "string" });
    const value = asText.decode(type.toBuffer(SAMPLE), 0).value as Record<string, unknown>;
    expect(value.price).toBe("-12345678901234.5678");
    expect(value.fixed_price).toBe("42.50");
  });
  test("a union of two records stays wrapped rather than guessed", () => {
    const twoRecords = avroType({
      type: "record",
      name: "Holder",
      fields: [
        { name: "u", type: [{ type: "record", name: "A", fields: [{ name: "a", type: "int" }] }, { type: "record", name: "B", fields: [{ name: "a", type: "int" }] }] },
      ],
    });
    const buf = Buffer.from([2, 4]); // branch 1 (B), a = 2
    expect(twoRecords.decode(buf, 0).value).toEqual({ u: { B: { a: 2 } } });
  });
  test("a schema that is not Avro is a SchemaError", () => {
    expect(() => avroType("{not json")).toThrow(SchemaError);
    expect(() => avroType({ type: "record", name: "R" })).toThrow(SchemaError);
    expect(avroType('"string"').decode(Buffer.from([2, 0x61]), 0).value).toBe("a");
  });
});

describe("avroDecoder", () => {
  const schema = { type: "record", name: "R", fields: [{ name: "n", type: "long" }] };
  const good = frame(3, avroType(schema).toBuffer({ n: 5n }));

  test("decodes framed values once their schemas are prepared", async () => {
    const decoder = avroDecoder(lookupOf({ 3: schema }));
    await decoder.prepare([good, null, Buffer.from("x")]);
    expect(decoder.decode(good)).toEqual({ schemaId: 3, value: { n: 5n } });
  });
  test("every bad value is an AvroDecodeError naming the cause", async () => {
    const decoder = avroDecoder(lookupOf({ 3: schema }));
    const unknown = frame(99, Buffer.from([2]));
    const truncated = frame(3, Buffer.alloc(0));
    const extra = Buffer.concat([good, Buffer.from([1])]);
    await decoder.prepare([unknown, truncated, extra]);
    const reason = (value: Buffer) => {
      try {
        decoder.decode(value);
      } catch (error) {
        expect(error).toBeInstanceOf(AvroDecodeError);
        return (error as Error).message;
      }
      throw new Error("decoded");
    };
    expect(reason(Buffer.from('{"n":5}'))).toContain("magic byte 0x7b");
    expect(reason(unknown)).toContain("schema id 99");
    expect(reason(truncated)).toContain("truncated");
    expect(reason(extra)).toContain("1 byte(s) left over");
  });
  test("an unavailable registry makes prepare reject, and is asked again next time", async () => {
    let calls = 0;
    const decoder = avroDecoder({
      source: "flaky",
      typeFor: async () => {
        calls++;
        if (calls === 1) throw new RegistryUnavailableError("down");
        return avroType(schema);
      },
    });
    await expect(decoder.prepare([good])).rejects.toThrow(RegistryUnavailableError);
    await decoder.prepare([good]);
    expect(decoder.decode(good).value).toEqual({ n: 5n });
  });
});

describe("offline schemas (--avro-schema)", () => {
  const dir = mkdtempSync(join(tmpdir(), "kt-avro-"));
  writeFileSync(join(dir, "7.avsc"), JSON.stringify({ type: "record", name: "R", fields: [{ name: "s", type: "string" }] }));
  writeFileSync(join(dir, "notes.txt"), "ignored");

  test("a directory maps <id>.avsc to schema ids", async () => {
    const lookup = fileSchemas(dir);
    const decoder = avroDecoder(lookup);
    const value = frame(7, Buffer.from([2, 0x68]));
    await decoder.prepare([value, frame(8, Buffer.from([0]))]);
    expect(decoder.decode(value).value).toEqual({ s: "h" });
    expect(() => decoder.decode(frame(8, Buffer.from([0])))).toThrow("8.avsc");
  });
  test("one file decodes every schema id", async () => {
    const decoder = avroDecoder(fileSchemas(join(dir, "7.avsc")));
    const value = frame(12345, Buffer.from([2, 0x68]));
    await decoder.prepare([value]);
    expect(decoder.decode(value).value).toEqual({ s: "h" });
  });
  test("a missing path or a bad file is a usage error naming it", () => {
    expect(() => fileSchemas(join(dir, "nope"))).toThrow(UsageError);
    const bad = join(dir, "bad.avsc");
    writeFileSync(bad, "{");
    expect(() => fileSchemas(bad)).toThrow(`--avro-schema ${bad}`);
  });
});

describe("toJsonValue", () => {
  test("keeps exact longs as numbers and the rest as strings", () => {
    expect(
      toJsonValue({ a: 5n, b: 12345678901234567890n, d: new Date(0), m: Decimal128.fromString("1.10"), x: Buffer.from("hi"), l: [1n] }),
    ).toEqual({ a: 5, b: "12345678901234567890", d: "1970-01-01T00:00:00.000Z", m: "1.10", x: "aGk=", l: [1] });
  });
});

describe("avroEncoding", () => {
  test("frames good values and makes each malformed kind", async () => {
    const schema = { type: "record", name: "R", fields: [{ name: "n", type: "long" }] };
    const encoding = avroEncoding(avroType(schema), 4);
    const decoder = avroDecoder(lookupOf({ 4: schema }));
    const good = encoding.encode({ n: 1 });
    const bad = AVRO_BAD_KINDS.map((k) => encoding.bad(k, { n: 1 }));
    await decoder.prepare([good, ...bad]);
    expect(decoder.decode(good).value).toEqual({ n: 1n });
    for (const value of bad) expect(() => decoder.decode(value)).toThrow(AvroDecodeError);
  });
});

describe("registry client", () => {
  test("an unreachable registry is RegistryUnavailableError after the attempts", async () => {
    const client = createRegistryClient({ url: "http://127.0.0.1:1", attempts: 2, retry: { initialMs: 1, maxMs: 2 } });
    await expect(client.schemaById(1)).rejects.toThrow(RegistryUnavailableError);
    await expect(client.schemaById(1)).rejects.toThrow("after 2 attempt(s)");
  });
});

describe("[schema_registry] section", () => {
  const source = (values: Record<string, string>, env: Record<string, string> = {}) => ({
    path: "db.ini",
    sections: { schema_registry: values },
    env,
  });
  test("reads url, basic auth and env overrides; credentials never stay in the url", () => {
    const section = schemaRegistrySection(source({ url: "http://u:p%40ss@reg:8081/" }), "schema_registry");
    expect(section).toEqual({ name: "schema_registry", url: "http://reg:8081", auth: { username: "u", password: "p@ss" }, caFile: undefined });
    const fromEnv = schemaRegistrySection(source({ url: "http://a:1" }, { KT_SCHEMA_REGISTRY_URL: "https://b:2" }), "schema_registry");
    expect(fromEnv.url).toBe("https://b:2");
  });
  test("bad values name the file, section and key", () => {
    expect(() => schemaRegistrySection(source({ url: "reg:8081" }), "schema_registry")).toThrow("db.ini: [schema_registry] url:");
    expect(() => schemaRegistrySection(source({ url: "http://r", ca_file: "/no/such.pem" }), "schema_registry")).toThrow(ConfigError);
    expect(() => schemaRegistrySection(source({ url: "http://r", username: "u" }), "schema_registry")).toThrow("password");
  });
});

describe("kafka-document with Avro", () => {
  const schema = { type: "record", name: "R", fields: [{ name: "n", type: "long" }, { name: "_id", type: "string" }] };
  const record = (value: Buffer | null, key: Buffer | null = null): SourceRecord => ({
    topic: "t",
    partition: 1,
    offset: "42",
    key,
    value,
    headers: {},
    timestamp: "1000",
    size: 0,
  });

  test("decoded fields land at top level with the schema id and metadata", async () => {
    const avro = avroDecoder(lookupOf({ 5: schema }));
    const options = { idStrategy: "offset" as const, valueFormat: "avro" as const, avro, now: () => new Date(0) };
    const value = frame(5, avroType(schema).toBuffer({ n: 9_007_199_254_740_993n, _id: "own" }));
    await kafkaDocumentPrepare(options)!([record(value)]);
    const outcome = kafkaDocumentProcessor(options)(record(value, Buffer.from("k")));
    expect(outcome.kind).toBe("write");
    const doc = (outcome as { item: Record<string, unknown> }).item;
    expect(doc).toMatchObject({ n: 9_007_199_254_740_993n, _value_id: "own", _id: "t:1:42", _kafka_key: "k", _kafka_value_schema_id: 5 });
  });
  test("undecodable values and keys are dead letters with the reason", async () => {
    const avro = avroDecoder(lookupOf({ 5: schema }));
    const options = { idStrategy: "offset" as const, valueFormat: "avro" as const, keyFormat: "avro" as const, avro };
    const toDocument = kafkaDocumentProcessor(options);
    await kafkaDocumentPrepare(options)!([record(frame(6, Buffer.from([0])))]);
    expect(toDocument(record(Buffer.from('{"n":1}')))).toMatchObject({ kind: "dead", stage: "parse", reason: expect.stringContaining("magic byte") });
    expect(toDocument(record(frame(6, Buffer.from([0]))))).toMatchObject({ kind: "dead", reason: expect.stringContaining("schema id 6") });
    expect(toDocument(record(null, Buffer.from("plain")))).toMatchObject({ kind: "dead", reason: expect.stringMatching(/^key: /) });
  });
});
