import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Long, ObjectId, Timestamp } from "mongodb";
import { decodePosition, encodePosition, mongoMessage } from "../../lib/processors/mongo-message.ts";
import { batchFilter, compareValues, fieldValue, horizon } from "../../lib/sources/mongo-poll.ts";
import { checkpointFile, CheckpointFileError } from "../../lib/state/checkpoint-file.ts";

const id = new ObjectId("65f000000000000000000001");

describe("mongoMessage", () => {
  test("relaxed Extended JSON by default, keyed by _id", () => {
    const message = mongoMessage({ canonical: false })({ _id: id, n: 1, at: new Date(0), big: Long.fromString("9007199254740993") });
    expect(message.key).toBe('{"$oid":"65f000000000000000000001"}');
    expect(JSON.parse(message.value)).toEqual({
      _id: { $oid: "65f000000000000000000001" },
      n: 1,
      at: { $date: "1970-01-01T00:00:00Z" },
      big: { $numberLong: "9007199254740993" },
    });
    expect(JSON.parse(mongoMessage({ canonical: false })({ _id: 1, small: Long.fromNumber(5), list: [Long.fromString("-9007199254740995")] }).value)).toEqual({
      _id: 1,
      small: 5,
      list: [{ $numberLong: "-9007199254740995" }],
    });
  });

  test("canonical keeps every number's type", () => {
    const message = mongoMessage({ canonical: true })({ _id: "k", n: 1 });
    expect(message.key).toBe('"k"');
    expect(JSON.parse(message.value)).toEqual({ _id: "k", n: { $numberInt: "1" } });
  });

  test("positions round-trip with their BSON type", () => {
    for (const value of [id, new Date(5), "x", Long.fromNumber(7)]) expect(decodePosition(encodePosition(value))).toEqual(value);
    expect(Number(decodePosition(encodePosition(42)))).toBe(42);
  });
});

describe("mongo-poll", () => {
  test("the range filter", () => {
    expect(batchFilter({ field: "_id", after: undefined })).toEqual({ _id: { $exists: true } });
    expect(batchFilter({ field: "at", after: 1, upTo: 5 })).toEqual({ at: { $gt: 1, $lte: 5 } });
    expect(batchFilter({ field: "at", after: 1, before: 9 })).toEqual({ at: { $gt: 1, $lt: 9 } });
  });

  test("the delay's horizon: the value of `delay` ago in the field's type, none for types without a time", () => {
    const now = 1_700_000_012_345;
    const objectIdHorizon = horizon(new ObjectId(), now, 5_000) as ObjectId;
    expect(objectIdHorizon.getTimestamp().getTime()).toBe(1_700_000_007_000);
    // Every ObjectId of that second sorts at or after it, so none of them is read yet.
    expect(compareValues(ObjectId.createFromTime(1_700_000_007), objectIdHorizon)).toBe(0);
    expect(compareValues(ObjectId.createFromTime(1_700_000_006), objectIdHorizon)).toBe(-1);
    expect(horizon(new Date(0), now, 5_000)).toEqual(new Date(1_700_000_007_345));
    expect(horizon(new Timestamp({ t: 1, i: 1 }), now, 5_000)).toEqual(new Timestamp({ t: 1_700_000_007, i: 0 }));
    expect(compareValues(new Timestamp({ t: 5, i: 2 }), new Timestamp({ t: 6, i: 0 }))).toBe(-1);
    expect(horizon(42, now, 5_000)).toBeUndefined();
    expect(horizon("a", now, 5_000)).toBeUndefined();
  });

  test("client-side order matches MongoDB's within a type", () => {
    const ids = ["65f000000000000000000003", "65f000000000000000000001", "65f00000000000000000000a"].map((h) => new ObjectId(h));
    expect([...ids].sort(compareValues).map((o) => o.toHexString())).toEqual([
      "65f000000000000000000001",
      "65f000000000000000000003",
      "65f00000000000000000000a",
    ]);
    expect([new Date(3), new Date(1)].sort(compareValues)).toEqual([new Date(1), new Date(3)]);
    expect([Long.fromNumber(10), Long.fromNumber(9)].sort(compareValues).map(String)).toEqual(["9", "10"]);
    expect(() => compareValues({ a: 1 }, { a: 2 })).toThrow("--order server");
    expect(fieldValue({ meta: { at: 3 } }, "meta.at")).toBe(3);
  });
});

describe("checkpointFile", () => {
  test("writes atomically, reads back, and names a torn file", () => {
    const dir = mkdtempSync(join(tmpdir(), "checkpoint-"));
    try {
      const file = checkpointFile<{ position: string }>(join(dir, "sub", "state.json"));
      expect(file.read()).toBeUndefined();
      file.write({ position: "a" });
      file.write({ position: "b" });
      expect(file.read()).toEqual({ position: "b" });
      expect(JSON.parse(readFileSync(file.path, "utf8"))).toEqual({ position: "b" });
      writeFileSync(file.path, "{torn");
      expect(() => file.read()).toThrow(CheckpointFileError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
