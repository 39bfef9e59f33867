/**
 * The benchmark workload shared by the sink benchmarks: login events padded
 * to about 1 KB, produced to a fresh topic as fast as the broker takes them.
 *
 * @example
 * await produceLoginEvents(kafka, "bench-topic", 100_000, 3);
 * const value = loginEvent(42); // the same bytes the topic holds at index 42
 */
import { Partitioners, type Kafka } from "kafkajs";
import type { SourceRecord } from "../../lib/engine/record.ts";

/** A login event padded to about 1 KB, like a real event with a few nested fields. */
export function loginEvent(i: number): string {
  return JSON.stringify({
    user_id: String(100_000 + i),
    app_version: "2.3.0",
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    locale: "NE",
    device_id: `0bcbfec0-02c4-496c-99ac-${String(i).padStart(12, "0")}`,
    timestamp: 1742331926 + i,
    device_type: i % 2 ? "android" : "ios",
    attributes: { session: i % 97, tags: ["a", "b", "c"], note: "n".repeat(700) },
  });
}

/** Creates `topic` and produces `count` events keyed `user-<i>`, 8 requests of 2000 in flight. */
export async function produceLoginEvents(kafka: Kafka, topic: string, count: number, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += 2000) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + 2000); j++) messages.push({ key: `user-${j}`, value: loginEvent(j) });
    inFlight.push(producer.send({ topic, acks: -1, messages }));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();
}

/** Event `i` as the record the engine would hand a processor, spread over `partitions` like the topic. */
export function loginRecord(topic: string, i: number, partitions: number): SourceRecord {
  const key = Buffer.from(`user-${i}`);
  const value = Buffer.from(loginEvent(i));
  return {
    topic,
    partition: i % partitions,
    offset: String(Math.floor(i / partitions)),
    key,
    value,
    headers: {},
    timestamp: String(Date.now()),
    size: key.length + value.length,
  };
}
