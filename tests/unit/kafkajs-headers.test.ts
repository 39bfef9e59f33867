/**
 * The kafkajs patch (patches/kafkajs+2.2.4.patch) keeps record headers as
 * written: headerList holds them in wire order with repeated names and null
 * values, and the encoder writes headerList back byte for byte.
 */
import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Decoder = require("kafkajs/src/protocol/decoder.js");
const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");
const decodeRecord = require("kafkajs/src/protocol/recordBatch/record/v0/decoder.js");

type Header = [name: Buffer | string, value: Buffer | string | null];

/** One record's bytes as Kafka's protocol lays them out, written by hand (not by kafkajs' encoder). */
function wireRecord(headers: Header[]): Buffer {
  const varint = (n: number) => {
    const bytes: number[] = [];
    let z = n >= 0 ? n * 2 : -n * 2 - 1;
    while (z >= 0x80) {
      bytes.push((z & 0x7f) | 0x80);
      z >>>= 7;
    }
    bytes.push(z);
    return Buffer.from(bytes);
  };
  const field = (v: Buffer | string | null) => (v === null ? varint(-1) : Buffer.concat([varint(Buffer.byteLength(v)), Buffer.from(v)]));
  const body = Buffer.concat([
    Buffer.from([0]), // attributes
    varint(0), // timestamp delta
    varint(0), // offset delta
    field("k"),
    field("v"),
    varint(headers.length),
    ...headers.flatMap(([name, value]) => [field(name), field(value)]),
  ]);
  return Buffer.concat([varint(body.length), body]);
}

function decode(bytes: Buffer) {
  const decoder = new Decoder(bytes);
  decoder.readVarInt(); // length
  return decodeRecord(decoder, { firstOffset: "0", firstTimestamp: "0", magicByte: 2 });
}

const WRITTEN: Header[] = [
  ["b", "1"],
  ["a", "2"],
  ["b", "3"],
  ["10", "x"],
  ["9", "y"],
  ["nothing", null],
  ["bin", Buffer.from([0xff, 0x00, 0xc3])],
  [Buffer.from([0xff, 0xfe]), "name not UTF-8"],
  ["__proto__", "p"],
  ["", ""],
];

describe("patched kafkajs record headers", () => {
  test("decode: headerList is the headers in wire order, byte for byte", () => {
    const record = decode(wireRecord(WRITTEN));
    const list = record.headerList.map((h: { key: Buffer | string; value: Buffer | null }) => [h.key, h.value]);
    expect(list).toEqual(WRITTEN.map(([k, v]) => [k, v === null ? null : Buffer.from(v)]));
    expect(typeof record.headerList[0].key).toBe("string");
    expect(Buffer.isBuffer(record.headerList[7].key)).toBe(true); // not UTF-8: its bytes, not U+FFFD
  });

  test("decode: the headers object still groups by name, as kafkajs did", () => {
    const { headers } = decode(wireRecord(WRITTEN));
    expect(headers.b).toEqual([Buffer.from("1"), Buffer.from("3")]);
    expect(headers.nothing).toBeNull();
    expect(Object.prototype.hasOwnProperty.call(headers, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(headers["__proto__"]).toEqual(Buffer.from("p"));
  });

  test("encode: headerList is written back byte for byte, and wins over headers", () => {
    const bytes = wireRecord(WRITTEN);
    const { headerList } = decode(bytes);
    const encoded: Buffer = Record({ key: Buffer.from("k"), value: Buffer.from("v"), headers: { other: "ignored" }, headerList }).buffer;
    expect(encoded.equals(bytes)).toBe(true);
    // Strings and Buffers alike; a null value is a header without a value.
    const fromStrings: Buffer = Record({ key: "k", value: "v", headerList: WRITTEN.map(([key, value]) => ({ key, value })) }).buffer;
    expect(fromStrings.equals(bytes)).toBe(true);
  });

  test("encode: the headers object writes null values and skips undefined ones", () => {
    const encoded: Buffer = Record({ key: "k", value: "v", headers: { b: ["1", "3"], nothing: null, gone: undefined } }).buffer;
    expect(encoded.equals(wireRecord([["b", "1"], ["b", "3"], ["nothing", null]]))).toBe(true);
  });

  test("the record's length prefix counts null values and byte names right", () => {
    const record: Buffer = Record({ key: "k", value: "v", headerList: WRITTEN.map(([key, value]) => ({ key, value })) }).buffer;
    const decoder = new Decoder(record);
    expect(decoder.readVarInt()).toBe(record.length - decoder.offset);
  });
});
