import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import type { SourceRecord } from "../../lib/engine/record.ts";
import {
  appendHeaders,
  PROVENANCE_HEADERS,
  provenanceHeaders,
  replicate,
  type ReplicaMessage,
  type ReplicateOptions,
} from "../../lib/processors/replicate.ts";
import { estimateBytes, splitByBytes } from "../../lib/sinks/kafka.ts";

const SOURCE = "src-cluster-id";
const DEST = "dst-cluster-id";

function record(overrides: Partial<SourceRecord> = {}): SourceRecord {
  return {
    topic: "logins",
    partition: 2,
    offset: "9007199254740993", // above 2^53: must stay a string
    key: Buffer.from([0x00, 0xff, 0x80]),
    value: Buffer.from([0xc3, 0x28, 0x00, 0x01]), // not valid UTF-8
    headers: { trace: Buffer.from("t-1"), bin: Buffer.from([0xfe, 0x00]), multi: [Buffer.from("a"), Buffer.from("b")] },
    timestamp: "1600000000123",
    size: 7,
    ...overrides,
  };
}

function options(overrides: Partial<ReplicateOptions> = {}): ReplicateOptions {
  return { sourceCluster: SOURCE, destinationCluster: DEST, partitioning: "preserve", provenance: "none", destinationTopic: (t) => t, ...overrides };
}

function written(outcome: ReturnType<typeof replicate>): ReplicaMessage {
  if (outcome.kind !== "write") throw new Error(`expected a write, got ${JSON.stringify(outcome)}`);
  return outcome.item;
}

describe("replicate", () => {
  test("copies key, value, headers and timestamp as the very same bytes", () => {
    const source = record();
    const copy = written(replicate(source, options()));
    expect(copy.key).toBe(source.key); // same Buffer: nothing decoded or re-encoded
    expect(copy.value).toBe(source.value);
    expect(copy.headers).toBe(source.headers);
    expect(copy.timestamp).toBe("1600000000123");
    expect(copy.topic).toBe("logins");
  });

  test("preserve keeps the partition number; key leaves it to the destination's partitioner", () => {
    expect(written(replicate(record(), options())).partition).toBe(2);
    const byKey = written(replicate(record(), options({ partitioning: "key" })));
    expect("partition" in byKey).toBe(false);
  });

  test("null key and tombstone values stay null", () => {
    const copy = written(replicate(record({ key: null, value: null }), options()));
    expect(copy.key).toBeNull();
    expect(copy.value).toBeNull();
  });

  test("names the destination topic", () => {
    expect(written(replicate(record(), options({ destinationTopic: (t) => `remote.${t}` }))).topic).toBe("remote.logins");
  });

  test("headers keep their order, repeated names and null values; provenance goes after them", () => {
    const headerList = [
      { key: "b", value: Buffer.from("1") },
      { key: "a", value: null },
      { key: "b", value: Buffer.from("3") },
    ];
    const none = written(replicate(record({ headerList }), options()));
    expect(none.headerList).toBe(headerList);
    const copy = written(replicate(record({ headerList }), options({ provenance: "cluster" })));
    expect(copy.headerList).toEqual([...headerList, { key: PROVENANCE_HEADERS.cluster, value: Buffer.from(SOURCE) }]);
    expect(headerList.length).toBe(3); // the source record is not modified
  });

  test("provenance by default is x-source-cluster alone", () => {
    const copy = written(replicate(record(), options({ provenance: "cluster" })));
    expect(Object.keys(copy.headers)).toEqual(["trace", "bin", "multi", PROVENANCE_HEADERS.cluster]);
  });

  test("full provenance headers come after the record's own, as Buffers", () => {
    const copy = written(replicate(record(), options({ provenance: "full" })));
    expect(Object.keys(copy.headers)).toEqual(["trace", "bin", "multi", ...Object.values(PROVENANCE_HEADERS)]);
    expect(copy.headers[PROVENANCE_HEADERS.cluster]).toEqual(Buffer.from(SOURCE));
    expect(copy.headers[PROVENANCE_HEADERS.topic]).toEqual(Buffer.from("logins"));
    expect(copy.headers[PROVENANCE_HEADERS.partition]).toEqual(Buffer.from("2"));
    expect(copy.headers[PROVENANCE_HEADERS.offset]).toEqual(Buffer.from("9007199254740993"));
    expect(copy.headers.bin).toEqual(Buffer.from([0xfe, 0x00]));
    expect(record().headers[PROVENANCE_HEADERS.cluster]).toBeUndefined(); // the source record is not modified
  });

  test("a second hop appends its provenance to the first hop's", () => {
    const hop1 = appendHeaders(record().headers, provenanceHeaders(record(), "cluster-a", "full"));
    const hop2Record = record({ headers: hop1, topic: "remote.logins", partition: 0, offset: "5" });
    const hop2 = appendHeaders(hop1, provenanceHeaders(hop2Record, "cluster-b", "full"));
    expect(hop2[PROVENANCE_HEADERS.cluster]).toEqual([Buffer.from("cluster-a"), Buffer.from("cluster-b")]);
    expect(hop2[PROVENANCE_HEADERS.topic]).toEqual([Buffer.from("logins"), Buffer.from("remote.logins")]);
    expect(hop2[PROVENANCE_HEADERS.offset]).toEqual([Buffer.from("9007199254740993"), Buffer.from("5")]);
  });

  test("loop prevention: a record that came from the destination cluster is skipped", () => {
    const back = record({ headers: { [PROVENANCE_HEADERS.cluster]: Buffer.from(DEST) } });
    expect(replicate(back, options()).kind).toBe("skip");
    const viaThird = record({ headers: { [PROVENANCE_HEADERS.cluster]: [Buffer.from("other"), Buffer.from(DEST)] } });
    expect(replicate(viaThird, options()).kind).toBe("skip");
    const fromElsewhere = record({ headers: { [PROVENANCE_HEADERS.cluster]: Buffer.from("other") } });
    expect(replicate(fromElsewhere, options()).kind).toBe("write");
  });

  test("a null header value is copied, not dead-lettered", () => {
    const headerList = [{ key: "ok", value: Buffer.from("x") }, { key: "empty", value: null }];
    const headers = { ok: Buffer.from("x"), empty: null } as unknown as SourceRecord["headers"];
    expect(written(replicate(record({ headers, headerList }), options())).headerList).toEqual(headerList);
  });
});

describe("produce batches", () => {
  const message = (bytes: number, extra: Partial<ReplicaMessage> = {}): ReplicaMessage => ({
    topic: "t",
    sourceTopic: "t",
    sourceOffset: "0",
    key: null,
    value: Buffer.alloc(bytes),
    headers: {},
    timestamp: "1600000000000",
    ...extra,
  });

  /** The size kafkajs really encodes for these messages in one record batch (its own encoders). */
  async function encodedBatchBytes(messages: ReplicaMessage[]): Promise<number> {
    const require = createRequire(import.meta.url);
    const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js");
    const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");
    const first = Math.min(...messages.map((m) => Number(m.timestamp)));
    const records = messages.map((m, i) => Record({ ...m, offsetDelta: i, timestampDelta: Number(m.timestamp) - first }));
    const batch = await RecordBatch({ records, firstTimestamp: first, maxTimestamp: first, lastOffsetDelta: records.length - 1 });
    return batch.size();
  }

  test("size estimates are exactly what kafkajs encodes", async () => {
    const messages = [
      message(1000, { key: Buffer.from("key-1"), headers: { trace: Buffer.from("t-1"), multi: [Buffer.from("a"), Buffer.from("bb")] } }),
      message(0, { value: null, timestamp: "1600000000005" }),
      message(200, { key: Buffer.alloc(300), timestamp: "1600000100000", headers: { "ü": "é" } }),
      message(70_000),
      message(5, { headers: { ignored: "x" }, headerList: [{ key: Buffer.from([0xff]), value: null }, { key: "b", value: "1" }, { key: "b", value: Buffer.from("2") }] }),
    ];
    expect(estimateBytes(messages[0]!)).toBe(await encodedBatchBytes([messages[0]!]));
    expect(estimateBytes(messages[4]!)).toBe(await encodedBatchBytes([messages[4]!]));
    const [all] = splitByBytes(messages, [0, 1, 2, 3, 4], Number.MAX_SAFE_INTEGER);
    expect(all).toEqual([0, 1, 2, 3, 4]);
    // A batch one byte over the budget is split; exactly at it is not.
    const exact = await encodedBatchBytes(messages);
    expect(splitByBytes(messages, [0, 1, 2, 3, 4], exact)).toEqual([[0, 1, 2, 3, 4]]);
    expect(splitByBytes(messages, [0, 1, 2, 3, 4], exact - 1)).toEqual([[0, 1, 2, 3], [4]]);
  });

  test("split so no request passes the byte budget; an oversized message goes alone", () => {
    const items = [message(400), message(400), message(400), message(5000), message(10)];
    expect(splitByBytes(items, [0, 1, 2, 3, 4], 1000)).toEqual([[0, 1], [2], [3], [4]]);
    expect(splitByBytes(items, [4, 0], 1000)).toEqual([[4, 0]]);
  });
});
