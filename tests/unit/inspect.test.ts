import { describe, expect, test } from "bun:test";
import { partitionLag, topicLag } from "../../lib/kafka/lag.ts";
import { decodeValue } from "../../lib/inspect/decode-value.ts";
import { toInteger } from "../../lib/inspect/landed-offsets.ts";
import { OffsetCounts, reconcile } from "../../lib/inspect/reconcile.ts";
import { MESSAGE_SCHEMAS, schemaReasons } from "../../lib/inspect/schemas.ts";
import { createTopicStats } from "../../lib/inspect/topic-stats.ts";
import { buildVerifyReport, formatVerifyReport } from "../../lib/inspect/verify-report.ts";
import { writeMajority } from "../../lib/inspect/mongo-health.ts";
import { formatInventory } from "../../lib/inspect/mongo-inventory.ts";

const counts = (pairs: Array<[number, number]>) => {
  const c = new OffsetCounts();
  for (const [partition, offset] of pairs) c.add(partition, offset);
  return c;
};

describe("decodeValue", () => {
  test("tells JSON from invalid JSON, invalid UTF-8 and empty", () => {
    expect(decodeValue(Buffer.from('{"a":1}'))).toEqual({ kind: "json", value: { a: 1 }, text: '{"a":1}' });
    expect(decodeValue(Buffer.from("{oops")).kind).toBe("invalid-json");
    expect(decodeValue(Buffer.from([0x7b, 0xc3, 0x28, 0x7d])).kind).toBe("invalid-utf8");
    expect(decodeValue(Buffer.alloc(0)).kind).toBe("empty");
    expect(decodeValue(null).kind).toBe("empty");
  });
});

describe("schemaReasons", () => {
  const schema = MESSAGE_SCHEMAS["user-login"];
  const good = {
    user_id: "123",
    app_version: "2.3.0",
    ip: "162.255.195.202",
    locale: "NE",
    device_id: "0bcbfec0-02c4-496c-99ac-35d0cc750f6b",
    timestamp: 1742331926,
    device_type: "android",
  };

  test("seed 001's example event is valid", () => {
    expect(schemaReasons(schema, good)).toEqual([]);
  });

  test("names missing fields, wrong types and bad formats", () => {
    const { device_id: _, ...withoutDevice } = good;
    expect(schemaReasons(schema, withoutDevice)).toEqual(["missing device_id"]);
    expect(schemaReasons(schema, { ...good, timestamp: "1742331926" })).toEqual([
      "wrong type timestamp: expected number, received string",
    ]);
    expect(schemaReasons(schema, { ...good, ip: "999.1.1.1" })).toEqual(["invalid ip: expected an IP address"]);
    expect(schemaReasons(schema, [1])).toEqual(["wrong type value: expected object, received array"]);
  });

  test("missing is told from the input even where a schema customises its messages", () => {
    const item = { id: "0bcbfec0-02c4-496c-99ac-35d0cc750f6b", name: "item_12345678" };
    expect(schemaReasons(MESSAGE_SCHEMAS.item, item)).toEqual(["missing created_at"]);
  });
});

describe("topic stats", () => {
  const message = (offset: number, value: string | Buffer | null) => ({
    offset: String(offset),
    key: null,
    value: typeof value === "string" ? Buffer.from(value) : value,
    timestamp: "0",
  });

  test("counts per partition, value kinds, schema reasons and samples", () => {
    const stats = createTopicStats({ schema: "user-login", sampleSize: 2, keepOffsets: true });
    stats.add(1, message(5, '{"user_id":"1"}'));
    stats.add(1, message(6, "not json"));
    stats.add(0, message(0, null));
    stats.add(1, message(7, Buffer.from([0xff])));
    const report = stats.report();
    expect(report.messages).toBe(4);
    expect(report.partitions).toEqual([
      { partition: 0, count: 1, firstOffset: 0, lastOffset: 0 },
      { partition: 1, count: 3, firstOffset: 5, lastOffset: 7 },
    ]);
    expect(report.values).toEqual({ json: 1, "invalid-json": 1, "invalid-utf8": 1, empty: 1 });
    expect(report.schema?.valid).toBe(0);
    expect(report.schema?.invalid).toBe(4);
    expect(report.schema?.reasons["invalid JSON"]).toBe(1);
    expect(report.schema?.reasons["missing app_version"]).toBe(1);
    expect(report.samples.map((s) => s.offset)).toEqual([5, 6]);
    expect(stats.offsets().get(1)).toEqual([5, 6, 7]);
  });
});

describe("reconcile", () => {
  const topicOffsets = new Map([
    [0, [0, 1, 2, 3]],
    [1, [0, 1]],
  ]);

  test("every offset landed or dead-lettered: nothing missing", () => {
    const result = reconcile({
      topicOffsets,
      landed: counts([[0, 0], [0, 1], [0, 3], [1, 0], [1, 1]]),
      deadLettered: counts([[0, 2]]),
    });
    expect(result).toMatchObject({ expected: 6, landed: 5, deadLettered: 1, missingCount: 0, duplicateCount: 0 });
  });

  test("lists missing offsets in order, counts them all, and respects the list limit", () => {
    const result = reconcile({ topicOffsets, landed: counts([[0, 1]]), deadLettered: new OffsetCounts(), listLimit: 3 });
    expect(result.missingCount).toBe(5);
    expect(result.missing).toEqual([
      { partition: 0, offset: 0 },
      { partition: 0, offset: 2 },
      { partition: 0, offset: 3 },
    ]);
  });

  test("finds duplicates and documents for offsets the topic read did not see", () => {
    const result = reconcile({
      topicOffsets,
      landed: counts([[0, 0], [0, 0], [0, 1], [0, 2], [0, 3], [1, 0], [1, 1], [1, 9]]),
      deadLettered: new OffsetCounts(),
    });
    expect(result.missingCount).toBe(0);
    expect(result.duplicateCount).toBe(1);
    expect(result.duplicates).toEqual([{ partition: 0, offset: 0, documents: 2 }]);
    expect(result.unexpectedDocuments).toBe(1);
  });

  test("a dead letter for another partition does not cover an offset", () => {
    const result = reconcile({ topicOffsets: new Map([[0, [0]]]), landed: new OffsetCounts(), deadLettered: counts([[1, 0]]) });
    expect(result.missing).toEqual([{ partition: 0, offset: 0 }]);
  });

  test("scales: 200k offsets in one pass", () => {
    const offsets = Array.from({ length: 200_000 }, (_, i) => i);
    const landed = new OffsetCounts();
    for (const o of offsets) if (o !== 123_456) landed.add(0, o);
    const result = reconcile({ topicOffsets: new Map([[0, offsets]]), landed, deadLettered: new OffsetCounts() });
    expect(result.missing).toEqual([{ partition: 0, offset: 123_456 }]);
  });
});

describe("toInteger", () => {
  test("reads offsets stored as int, long, string", () => {
    expect(toInteger(42)).toBe(42);
    expect(toInteger("42")).toBe(42);
    expect(toInteger({ toNumber: () => 42 })).toBe(42);
    expect(toInteger(4.2)).toBeUndefined();
    expect(toInteger("x")).toBeUndefined();
    expect(toInteger(undefined)).toBeUndefined();
  });
});

describe("consumer lag", () => {
  test("committed partitions lag by end minus committed", () => {
    expect(partitionLag({ partition: 0, committed: "40", low: "0", high: "100" })).toEqual({
      partition: 0,
      committed: 40,
      earliest: 0,
      end: 100,
      lag: 60,
      from_earliest: false,
    });
  });

  test("uncommitted partitions lag from the earliest offset, and say so", () => {
    expect(partitionLag({ partition: 1, committed: "-1", low: "10", high: "100" })).toMatchObject({
      committed: null,
      lag: 90,
      from_earliest: true,
    });
  });

  test("a topic's lag sums its partitions; partitions missing from the commit list count as uncommitted", () => {
    const lag = topicLag("t", [{ partition: 0, offset: "5" }], [
      { partition: 1, low: "0", high: "7" },
      { partition: 0, low: "0", high: "10" },
    ]);
    expect(lag.lag).toBe(12);
    expect(lag.partitions.map((p) => p.partition)).toEqual([0, 1]);
    expect(lag.partitions[1]?.from_earliest).toBe(true);
  });
});

describe("verify report", () => {
  const read = {
    partitions: [{ partition: 0, earliest: 0, end: 3, reached: true }],
    complete: true,
  };
  const stats = (() => {
    const s = createTopicStats({ sampleSize: 0, keepOffsets: true });
    for (const offset of [0, 1, 2]) s.add(0, { offset: String(offset), key: null, value: Buffer.from("{}"), timestamp: "0" });
    return s;
  })();

  test("ok when the count matches and nothing is missing", () => {
    const report = buildVerifyReport({ topic: "t", read, stats: stats.report(), expectCount: 3 });
    expect(report.ok).toBe(true);
    expect(report.partitions[0]).toMatchObject({ count: 3, first_offset: 0, last_offset: 2 });
    expect(formatVerifyReport(report)).toEndWith("OK");
  });

  test("fails on a count mismatch, an incomplete read and a missing offset", () => {
    const report = buildVerifyReport({
      topic: "t",
      read: { ...read, complete: false, stoppedBy: "idle", partitions: [{ ...read.partitions[0]!, reached: false }] },
      stats: stats.report(),
      expectCount: 4,
      reconciliation: {
        mongo: "[mongodb] db.c",
        documents: 2,
        unreadableDocuments: 0,
        dlqTopic: "t.dlq",
        dlqExists: false,
        dlqComplete: true,
        dlqMessages: 0,
        unreadableDeadLetters: 0,
        result: reconcile({ topicOffsets: stats.offsets(), landed: counts([[0, 0], [0, 2]]), deadLettered: new OffsetCounts() }),
      },
    });
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(3);
    expect(report.problems[2]).toContain("0:1");
    expect(report.reconciliation).toMatchObject({ missing_count: 1, landed: 2 });
  });
});

describe("mongo-health: write concern majority", () => {
  test("a majority of data-bearing voting members must be healthy; arbiters do not count", () => {
    const member = (state: string, healthy = true) => ({ state, healthy });
    expect(writeMajority([member("PRIMARY"), member("SECONDARY"), member("SECONDARY", false)])).toEqual({ possible: true, healthy_voters: 2, needed: 2 });
    expect(writeMajority([member("PRIMARY"), member("ARBITER"), member("SECONDARY", false)])).toEqual({ possible: false, healthy_voters: 1, needed: 2 });
    expect(writeMajority([member("PRIMARY"), member("SECONDARY")], 2)).toMatchObject({ possible: true });
  });
});

describe("mongo-inventory: text", () => {
  test("what was not measured in time is said so per collection", () => {
    const lines = formatInventory({
      database: "events",
      complete: false,
      collections_total: 300,
      collections: [
        { name: "logins", count: 1200, size_bytes: 2_500_000, indexes: [{ name: "_id_", key: { _id: 1 } }] },
        { name: "orders", count: null, indexes: null },
      ],
      notes: ["count of 1 of 2 collections: not measured in time (5 s)"],
    });
    expect(lines).toEqual([
      "  database events: 300 collection(s) (inventory partial)",
      "    logins: 1200 documents, 2.5 MB; indexes: _id_",
      "    orders: count: not measured in time; indexes: not listed in time",
      "  note: count of 1 of 2 collections: not measured in time (5 s)",
    ]);
  });
});
