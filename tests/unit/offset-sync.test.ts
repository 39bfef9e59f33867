import { describe, expect, test } from "bun:test";
import { unprotectedTwoWay } from "../../lib/kafka/replication-rules.ts";
import { groupSyncAction } from "../../lib/replication/group-sync.ts";
import { decodeOffsetSync, encodeOffsetSync, OffsetSyncFormatError, OffsetSyncStore, OffsetSyncTracker, type Flow } from "../../lib/replication/offset-sync.ts";
import { recordBatch } from "../../lib/replication/failover.ts";
import type { ReplicaMessage } from "../../lib/processors/replicate.ts";
import { acknowledgedBatches, type KafkaOutput } from "../../lib/sinks/kafka.ts";

const FLOW: Flow = { cluster: "src", topic: "logins", partition: 0, target: "remote.logins" };

function tracked(copies: [upstream: number, downstream: number][]) {
  const tracker = new OffsetSyncTracker({ cluster: "src", provenance: "cluster" });
  for (const [u, d] of copies) tracker.copied(FLOW.topic, FLOW.partition, FLOW.target, BigInt(u), BigInt(d));
  return tracker;
}

function storeOf(tracker: OffsetSyncTracker): OffsetSyncStore {
  const store = new OffsetSyncStore();
  for (const sync of tracker.changed()) store.add(sync);
  return store;
}

describe("offset sync tracker", () => {
  test("consecutive copies are one run; a gap on either side starts another", () => {
    const tracker = tracked([[0, 50], [1, 51], [2, 52], [5, 53], [6, 54], [7, 60]]);
    expect(tracker.changed().map((s) => [s.upstream, s.downstream, s.count])).toEqual([
      [0n, 50n, 3],
      [5n, 53n, 2],
      [7n, 60n, 1],
    ]);
    expect(tracker.changed()).toEqual([]);
    tracker.copied(FLOW.topic, 0, FLOW.target, 8n, 61n);
    expect(tracker.changed().map((s) => [s.upstream, s.count])).toEqual([[7n, 2]]);
  });

  test("requeued syncs come back first", () => {
    const tracker = tracked([[0, 0]]);
    const first = tracker.changed();
    tracker.requeue(first);
    tracker.copied(FLOW.topic, 0, FLOW.target, 1n, 1n);
    expect(tracker.changed().map((s) => s.count)).toEqual([1, 2]);
  });
});

describe("offset translation", () => {
  test("exact inside a run: 400 consumed of 1000 copied after 50 other messages resumes at the 401st copy", () => {
    const store = storeOf(tracked(Array.from({ length: 1000 }, (_, i) => [i, 50 + i])));
    expect(store.translate(FLOW, 400n)).toBe(450n);
    expect(store.translate(FLOW, 0n)).toBe(50n);
    expect(store.translate(FLOW, 1000n)).toBe(1050n);
  });

  test("past a run's known end: the offset after its last known copy; before the first run: nothing", () => {
    const store = storeOf(tracked([[10, 100], [11, 101], [20, 102]]));
    expect(store.translate(FLOW, 9n)).toBeUndefined();
    expect(store.translate(FLOW, 12n)).toBe(102n); // 12..19 were never copied: the next copy is 20's
    expect(store.translate(FLOW, 25n)).toBe(103n); // beyond what is synced: re-read, never skip
    expect(store.translate({ ...FLOW, partition: 1 }, 10n)).toBeUndefined();
  });

  test("a later state of a run replaces an earlier one; a rerun over the same offsets wins", () => {
    const store = new OffsetSyncStore();
    const sync = { ...FLOW, upstream: 0n, downstream: 0n, count: 10, provenance: "cluster" };
    store.add(sync);
    store.add({ ...sync, count: 20 });
    expect(store.translate(FLOW, 15n)).toBe(15n);
    store.add({ ...sync, downstream: 500n, count: 5 }); // copied again from the start (--from-beginning)
    expect(store.translate(FLOW, 3n)).toBe(503n);
  });

  test("never skips a message: for any committed offset, the translation is at or before the next copy", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      const tracker = new OffsetSyncTracker({ cluster: "src", provenance: "cluster" });
      const store = new OffsetSyncStore();
      const copies: [bigint, bigint][] = [];
      let u = 0n;
      let d = BigInt(Math.floor(random() * 100));
      for (let i = 0; i < 300; i++) {
        u += random() < 0.1 ? BigInt(2 + Math.floor(random() * 5)) : 1n; // markers, skipped records
        d += random() < 0.05 ? BigInt(2 + Math.floor(random() * 5)) : 1n; // other writers
        copies.push([u, d]);
        tracker.copied(FLOW.topic, 0, FLOW.target, u, d);
        if (random() < 0.05) for (const s of tracker.changed()) store.add(s); // flushes at random points
      }
      for (let c = 0n; c <= u + 2n; c++) {
        const next = copies.find(([cu]) => cu >= c);
        const translated = store.translate(FLOW, c);
        if (translated !== undefined && next) expect(translated <= next[1]).toBe(true);
      }
      // After a final flush, every copied offset translates exactly.
      for (const s of tracker.changed()) store.add(s);
      for (const [cu, cd] of copies) if (store.translate(FLOW, cu) !== cd) expect({ cu, got: store.translate(FLOW, cu) }).toEqual({ cu, got: cd });
    }
  });

  test("records round-trip; keys differ per run so compaction keeps each run's newest state", () => {
    const sync = { ...FLOW, upstream: 9007199254740993n, downstream: 12n, count: 3, provenance: "none" };
    const { key, value } = encodeOffsetSync(sync);
    expect(decodeOffsetSync(Buffer.from(key), Buffer.from(value))).toEqual(sync);
    expect(encodeOffsetSync({ ...sync, count: 4 }).key).toBe(key);
    expect(encodeOffsetSync({ ...sync, upstream: 1n }).key).not.toBe(key);
    expect(() => decodeOffsetSync("x", "{}")).toThrow(OffsetSyncFormatError);
    expect(() => decodeOffsetSync(key, JSON.stringify({ downstream: "1", count: 0, provenance: "cluster" }))).toThrow(OffsetSyncFormatError);
  });
});

describe("group sync rule", () => {
  test("written only forward, and never while the group is active on the destination", () => {
    expect(groupSyncAction(450n, undefined, false)).toBe("written");
    expect(groupSyncAction(450n, 400n, false)).toBe("written");
    expect(groupSyncAction(450n, 450n, false)).toBe("current");
    expect(groupSyncAction(450n, 500n, false)).toBe("ahead");
    expect(groupSyncAction(450n, undefined, true)).toBe("active");
    expect(groupSyncAction(undefined, undefined, false)).toBe("untranslatable");
  });
});

describe("two-way rule", () => {
  const pairs = [{ source: "orders", destination: "orders" }];
  const clusters = { destination: "B", from: "a_kafka", to: "b_kafka" };
  const back = { cluster: "B", topic: "orders", target: "orders", provenance: "cluster" };

  test("--no-provenance refuses a flow that copies its destination topic back into its source topic", () => {
    expect(unprotectedTwoWay(pairs, [back], { ...clusters, provenance: "none" })).toContain("--no-provenance cannot protect a two-way setup");
    expect(unprotectedTwoWay(pairs, [back], { ...clusters, provenance: "cluster" })).toBeUndefined();
  });

  test("a run with provenance refuses a way back that runs with --no-provenance", () => {
    expect(unprotectedTwoWay(pairs, [{ ...back, provenance: "none" }], { ...clusters, provenance: "cluster" })).toContain("by a run with --no-provenance");
  });

  test("other flows are not a two-way setup", () => {
    const others = [{ ...back, cluster: "C" }, { ...back, topic: "payments" }, { ...back, target: "orders.copy" }];
    expect(unprotectedTwoWay(pairs, others, { ...clusters, provenance: "none" })).toBeUndefined();
  });
});

describe("destination offsets of a send", () => {
  test("the n-th message of a partition is at the batch's base offset + n; unpartitioned messages have none", () => {
    const m = (topic: string, partition?: number): KafkaOutput => ({ topic, partition, key: null, value: "v", headers: {} });
    const messages = [m("a", 0), m("a", 1), m("a", 0), m("b", 0), m("a"), m("a", 0)];
    const batches = acknowledgedBatches(messages, [
      { topicName: "a", partition: 0, errorCode: 0, baseOffset: "100" },
      { topicName: "a", partition: 1, errorCode: 0, baseOffset: "7" },
      { topicName: "b", partition: 0, errorCode: 0, baseOffset: "0" },
    ]);
    expect(batches.map((b) => [b.topic, b.partition, b.baseOffset, b.items.map((i) => messages.indexOf(i))])).toEqual([
      ["a", 0, 100n, [0, 2, 5]],
      ["a", 1, 7n, [1]],
      ["b", 0, 0n, [3]],
    ]);
  });

  test("a batch without gaps is one range; one with gaps is copy by copy", () => {
    const copy = (offset: number): ReplicaMessage => ({ topic: "remote.logins", partition: 0, sourceTopic: "logins", sourceOffset: String(offset), key: null, value: "v", headers: {}, timestamp: "0" });
    const tracker = new OffsetSyncTracker({ cluster: "src", provenance: "cluster" });
    recordBatch(tracker, { topic: "remote.logins", partition: 0, baseOffset: 50n, items: [10, 11, 12].map(copy) });
    recordBatch(tracker, { topic: "remote.logins", partition: 0, baseOffset: 53n, items: [13, 15, 16].map(copy) });
    expect(tracker.changed().map((s) => [s.upstream, s.downstream, s.count])).toEqual([
      [10n, 50n, 4],
      [15n, 54n, 2],
    ]);
  });
});
