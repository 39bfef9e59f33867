import { describe, expect, test } from "bun:test";
import { DLQ_HEADERS, deadLetterMessage, messageBytes, splitBySize } from "../../lib/sinks/dead-letter-topic.ts";
import type { SourceRecord } from "../../lib/engine/record.ts";

const record: SourceRecord = {
  topic: "logins",
  partition: 2,
  offset: "41",
  key: Buffer.from("k"),
  value: Buffer.from("{bad json"),
  headers: { trace: Buffer.from("t-1") },
  timestamp: "1000000000000",
  size: 10,
};

describe("dead letters", () => {
  test("4d: a dead letter is stamped with the current time and keeps the source's in x-source-timestamp", () => {
    const now = new Date("2026-11-23T12:00:00Z");
    const message = deadLetterMessage({ record, reason: "invalid JSON", stage: "parse" }, now);
    // The topic's retention counts from the record timestamp: the source's
    // would let the broker delete the letter right after the commit.
    expect(message.timestamp).toBe(String(now.getTime()));
    expect(message.headers?.[DLQ_HEADERS.sourceTimestamp]).toBe("1000000000000");
    expect(message.headers?.trace).toEqual(Buffer.from("t-1"));
    expect(message.value).toEqual(record.value);
  });

  test("4f: a letter larger than the topic allows is cut to fit, with a header saying what was cut", () => {
    const big = { ...record, value: Buffer.alloc(50_000, 0x61) };
    const message = deadLetterMessage({ record: big, reason: "too big", stage: "sink" }, new Date(), 20_000);
    expect(messageBytes(message)).toBeLessThanOrEqual(20_000);
    expect((message.value as Buffer).length).toBeGreaterThan(18_000);
    expect(String(message.headers?.[DLQ_HEADERS.truncated])).toMatch(/^value 50000 bytes, kept \d+; key 1 bytes, kept 1$/);
    expect(message.headers?.[DLQ_HEADERS.sourceOffset]).toBe("41");
    const small = deadLetterMessage({ record, reason: "r", stage: "parse" }, new Date(), 20_000);
    expect(small.headers?.[DLQ_HEADERS.truncated]).toBeUndefined();
  });

  test("4f: letters are sent in parts no larger than the topic's limit; none is dropped", () => {
    const messages = Array.from({ length: 10 }, (_, i) => deadLetterMessage({ record: { ...record, offset: String(i), value: Buffer.alloc(9_000) }, reason: "r", stage: "parse" }));
    const parts = splitBySize(messages, 30_000);
    expect(parts.length).toBeGreaterThan(3);
    expect(parts.flat()).toEqual(messages);
    for (const part of parts) expect(part.reduce((sum, m) => sum + messageBytes(m), 0)).toBeLessThanOrEqual(30_000);
  });
});
