import { describe, expect, test } from "bun:test";
import { Partitioners, type Message, type PartitionMetadata } from "kafkajs";
import { createRandom } from "../../lib/generate/random.ts";
import { fastDefaultPartitioner, murmur2 } from "../../lib/produce/partitioner.ts";
import { batchSizeForRate, pacingDelayMs, rateFromInterval } from "../../lib/produce/pacing.ts";
import { splitByBytes } from "../../lib/produce/produce.ts";
import { backoffDelayMs, retryWithBackoff } from "../../lib/produce/retry.ts";
import { sleep } from "../../lib/backoff.ts";

describe("pacing", () => {
  test("waits until the schedule catches up, never a negative time", () => {
    expect(pacingDelayMs({ startedAt: 1000, now: 1250, sent: 500, ratePerSec: 1000 })).toBe(250);
    expect(pacingDelayMs({ startedAt: 1000, now: 3000, sent: 500, ratePerSec: 1000 })).toBe(0);
    expect(pacingDelayMs({ startedAt: 0, now: 0, sent: 0, ratePerSec: 1 })).toBe(0);
  });

  test("batch sizes for a rate: about ten batches a second, within 1..max", () => {
    expect(batchSizeForRate(28)).toBe(3);
    expect(batchSizeForRate(0.5)).toBe(1);
    expect(batchSizeForRate(1_000_000)).toBe(1000);
  });

  test("seed 003's interval_ms 36 with batch_size 1 is ~100,000 messages an hour", () => {
    expect(Math.round(rateFromInterval(36, 1) * 3600)).toBe(100_000);
  });
});

describe("retry with backoff", () => {
  const noWait = async () => {};

  test("delays double from the initial delay up to the maximum", () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, 1000, 5000))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  test("retries until success", async () => {
    let calls = 0;
    const delays: number[] = [];
    const result = await retryWithBackoff(
      async () => {
        if (++calls < 3) throw new Error("flaky");
        return "ok";
      },
      { retries: 5, initialDelayMs: 100, maxDelayMs: 1000, wait: noWait, onRetry: (_a, d) => delays.push(d) },
    );
    expect(result).toBe("ok");
    expect(delays).toEqual([100, 200]);
  });

  test("gives up after the last retry with the last error", async () => {
    let calls = 0;
    const failing = retryWithBackoff(
      async () => {
        calls++;
        throw new Error(`failure ${calls}`);
      },
      { retries: 2, initialDelayMs: 1, maxDelayMs: 1, wait: noWait },
    );
    await expect(failing).rejects.toThrow("failure 3");
  });

  test("does not retry an error that would fail again", async () => {
    let calls = 0;
    const failing = retryWithBackoff(
      async () => {
        calls++;
        throw new Error("too large");
      },
      { retries: 5, initialDelayMs: 1, maxDelayMs: 1, wait: noWait, isRetriable: () => false },
    );
    await expect(failing).rejects.toThrow("too large");
    expect(calls).toBe(1);
  });

  test("sleep ends early on abort", async () => {
    const stop = new AbortController();
    const started = Date.now();
    const waiting = sleep(60_000, stop.signal);
    stop.abort();
    await waiting;
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe("splitByBytes", () => {
  const message = (bytes: number): Message => ({ key: null, value: Buffer.alloc(bytes) });

  test("keeps every message, in order, in chunks under the limit", () => {
    const messages = Array.from({ length: 100 }, () => message(1000));
    const chunks = splitByBytes(messages, 10_000);
    expect(chunks.flatMap((c) => c.messages)).toEqual(messages);
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks) expect(c.bytes).toBeLessThanOrEqual(10_000);
    expect(chunks.reduce((sum, c) => sum + c.bytes, 0)).toBe(100_000);
  });

  test("a message above the limit goes alone", () => {
    const chunks = splitByBytes([message(10), message(50_000), message(10)], 1000);
    expect(chunks.map((c) => c.messages.length)).toEqual([1, 1, 1]);
  });
});

describe("fast default partitioner", () => {
  const metadata: PartitionMetadata[] = [0, 1, 2, 3, 4, 5, 6].map((partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
  }));

  test("Kafka's murmur2 reference value, from a buffer or a string", () => {
    expect(murmur2(Buffer.from("21"))).toBe(-973932308);
    expect(murmur2("21")).toBe(-973932308);
  });

  test("picks the same partition as kafkajs' DefaultPartitioner for every key", () => {
    const theirs = Partitioners.DefaultPartitioner();
    const ours = fastDefaultPartitioner();
    const random = createRandom(3);
    const keys: Array<string | Buffer> = ["", "a", "ab", "abc", "abcd", "é🙂ü", "x".repeat(5000)];
    for (let i = 0; i < 5000; i++) keys.push(random.uuid().slice(0, random.int(0, 36)), Buffer.from(random.digits(random.int(1, 40))));
    for (const key of keys) {
      const message = { key, value: null };
      expect(ours({ topic: "t", partitionMetadata: metadata, message })).toBe(
        theirs({ topic: "t", partitionMetadata: metadata, message }),
      );
    }
  });

  test("keyless messages go round robin over partitions with a leader", () => {
    const partition = fastDefaultPartitioner();
    const withLeader = metadata.map((p) => (p.partitionId === 2 ? { ...p, leader: -1 } : p));
    const chosen = Array.from({ length: 60 }, () => partition({ topic: "t", partitionMetadata: withLeader, message: { value: null } }));
    expect(new Set(chosen)).toEqual(new Set([0, 1, 3, 4, 5, 6]));
  });
});
