import { describe, expect, test } from "bun:test";
import { BoundedQueue } from "../../lib/engine/bounded-queue.ts";
import { CommitOrder } from "../../lib/engine/commit-order.ts";
import { deadLetterMessage, DLQ_HEADERS } from "../../lib/sinks/dead-letter-topic.ts";
import type { SourceRecord } from "../../lib/engine/record.ts";
import { backoffDelay } from "../../lib/backoff.ts";

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
