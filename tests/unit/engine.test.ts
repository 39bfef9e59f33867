import { describe, expect, test } from "bun:test";
import { BoundedQueue } from "../../lib/engine/bounded-queue.ts";
import { CommitOrder } from "../../lib/engine/commit-order.ts";
import { deadLetterMessage, DLQ_HEADERS } from "../../lib/sinks/dead-letter-topic.ts";
import type { SourceRecord } from "../../lib/engine/record.ts";
import { backoffDelay } from "../../lib/backoff.ts";
import { processChunk, type Chunk } from "../../lib/engine/chunk.ts";
import { Committer } from "../../lib/engine/committer.ts";
import { EngineEvents } from "../../lib/engine/events.ts";
import { partitionPauser } from "../../lib/engine/partition-pauser.ts";
import type { WriteOutcome } from "../../lib/engine/writer.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { createProgress } from "../../lib/log/progress.ts";
import { FakeSource, records, writeValues } from "../helpers/fake-pipeline.ts";

describe("CommitOrder", () => {
  test("releases a partition's chunks only in consumption order", () => {
    const order = new CommitOrder<string>();
    const a = order.track("t", 0);
    const b = order.track("t", 0);
    const other = order.track("t", 1);
    const c = order.track("t", 0);
    expect(order.complete(b, "b")).toEqual([]);
    expect(order.complete(other, "other")).toEqual(["other"]);
    expect(order.complete(a, "a")).toEqual(["a", "b"]);
    expect(order.complete(c, "c")).toEqual(["c"]);
  });
});

describe("Committer and a paused partition", () => {
  test("never commits past a handed-back chunk; a stale chunk durable before any hand-back is committed; the position is the last accepted", async () => {
    const source = new FakeSource([records("t", 0, 12)]);
    const epoch = source.epoch();
    let generation = 0;
    const committer = new Committer<string>({
      source,
      events: new EngineEvents(),
      log: silentLogger,
      progress: createProgress({ logger: silentLogger, everyMessages: 1_000_000 }),
      stale: (chunk) => (chunk.generation ?? 0) !== generation,
    });
    const chunk = (from: number, gen: number): Chunk<string> => ({
      ...processChunk({ topic: "t", partition: 0, epoch, nextOffset: String(from + 3) }, records("t", 0, 3, from), writeValues),
      generation: gen,
    });
    const durable = (c: Chunk<string>): WriteOutcome<string> => ({
      kind: "durable",
      durable: { chunk: c, written: 3, duplicates: 0, dead: [], writeMs: 0, committedBy: "source" },
    });
    const [a, b, c] = [chunk(0, 0), chunk(3, 0), chunk(6, 0)];
    const [ta, tb, tc] = [committer.track(a), committer.track(b), committer.track(c)];
    generation = 1; // the partition is paused while a, b and c are in flight
    await committer.complete(tc, c, durable(c)); // waits for a and b
    await committer.complete(ta, a, durable(a)); // durable, nothing handed back before it: committed
    expect(committer.outstanding("t", 0)).toBe(2);
    await committer.complete(tb, b, { kind: "stopped" }); // its writer gave up at the pause: c, durable, follows a gap
    expect(source.commitLog.map((r) => r.offset)).toEqual(["3"]);
    expect(committer.position("t", 0)).toBe("3");
    expect(committer.outstanding("t", 0)).toBe(0);
    expect(committer.counts).toMatchObject({ committed: 3, returned: 6 });
    // Read again from the position in the new generation.
    const again = chunk(3, 1);
    await committer.complete(committer.track(again), again, durable(again));
    expect(source.commitLog.map((r) => r.offset)).toEqual(["3", "6"]);
    expect(committer.counts).toMatchObject({ committed: 6, returned: 6 });
  });
});

describe("partitionPauser", () => {
  test("never pauses the last partition still flowing; a recovery anywhere resumes every paused partition", () => {
    const calls: string[] = [];
    const source = {
      pause: (topic: string, partition: number) => void calls.push(`pause ${topic}/${partition}`),
      resume: (topic: string, partition: number) => void calls.push(`resume ${topic}/${partition}`),
      assignment: () => ({ t: [0, 1] }),
    };
    const pauser = partitionPauser({ failures: 2, windowMs: 60_000, pauseMs: 60_000 }, { source, log: silentLogger, events: new EngineEvents() });
    try {
      pauser.failed("t", 0, 2);
      pauser.failed("t", 1, 5); // the sink is down for both: t/1's retries notice when it is back
      expect(pauser.paused()).toEqual(["t/0"]);
      pauser.recovered("t", 1);
      expect(calls).toEqual(["pause t/0", "resume t/0"]);
      expect(pauser.paused()).toEqual([]);
    } finally {
      pauser.close();
    }
  });
});

describe("BoundedQueue", () => {
  test("push waits while full, heartbeating, and take drains after close", async () => {
    const queue = new BoundedQueue<number>(1);
    expect(await queue.push(1)).toBe(true);
    let beats = 0;
    const second = queue.push(2, async () => void beats++, 5);
    await Bun.sleep(30);
    expect(beats).toBeGreaterThan(0);
    expect(await queue.take()).toBe(1);
    expect(await second).toBe(true);
    queue.close();
    expect(await queue.push(3)).toBe(false);
    expect(await queue.take()).toBe(2);
    expect(await queue.take()).toBeUndefined();
  });
});

describe("backoff", () => {
  test("grows exponentially with jitter and a ceiling", () => {
    const options = { initialMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, { ...options, random: () => 1 })).toBe(100);
    expect(backoffDelay(0, { ...options, random: () => 0 })).toBe(50);
    expect(backoffDelay(3, { ...options, random: () => 1 })).toBe(800);
    expect(backoffDelay(10, { ...options, random: () => 1 })).toBe(1000);
  });
});

describe("dead-letter message", () => {
  test("keeps the original bytes and headers and says why, where and when", () => {
    const record: SourceRecord = {
      topic: "logins",
      partition: 2,
      offset: "41",
      key: Buffer.from("k"),
      value: Buffer.from([0xff]),
      headers: { trace: Buffer.from("abc") },
      timestamp: "1742331926000",
      size: 2,
    };
    const message = deadLetterMessage({ record, reason: "invalid UTF-8", stage: "parse" }, new Date("2026-11-22T00:00:00Z"));
    expect(message.key).toBe(record.key);
    expect(message.value).toBe(record.value);
    // Stamped now, so the topic's retention does not delete it at once; the source's is a header.
    expect(message.timestamp).toBe(String(Date.parse("2026-11-22T00:00:00Z")));
    expect(message.headers).toMatchObject({
      [DLQ_HEADERS.sourceTimestamp]: "1742331926000",
      trace: Buffer.from("abc"),
      [DLQ_HEADERS.reason]: "invalid UTF-8",
      [DLQ_HEADERS.stage]: "parse",
      [DLQ_HEADERS.sourceTopic]: "logins",
      [DLQ_HEADERS.sourcePartition]: "2",
      [DLQ_HEADERS.sourceOffset]: "41",
      [DLQ_HEADERS.time]: "2026-11-22T00:00:00.000Z",
    });
  });
});
