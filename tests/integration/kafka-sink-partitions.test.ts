/**
 * 4a: kafka2kafka with --partitioning preserve, when the source gains a
 * partition the destination lacks mid-run. kafkajs drops a message for an
 * unknown partition without an error, so the sink must refuse the batch
 * (never report it written, so its offsets are never committed).
 */
import { afterAll, expect, test } from "bun:test";
import { CompressionTypes } from "kafkajs";
import { kafkaSection } from "../../lib/config/kafka-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import { PartitionCountError, destinationPartitionGuard } from "../../lib/kafka/topics.ts";
import { REPLICATION_PRODUCER, kafkaSink } from "../../lib/sinks/kafka.ts";
import { STACK_CONFIG, createTopic, kafkaClient, uniqueName, withAdmin } from "../helpers/stack-fixtures.ts";

const REMOTE = kafkaSection(loadConfigSource(STACK_CONFIG), "remote_kafka").brokers;
const topic = uniqueName("k2k-partitions");

afterAll(async () => {
  await withAdmin(REMOTE, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
});

test("4a: a message for a partition the destination lacks is refused, never counted as written", async () => {
  await createTopic(topic, 1, REMOTE);
  const kafka = kafkaClient(REMOTE);
  const producer = kafka.producer(REPLICATION_PRODUCER);
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  try {
    const sink = kafkaSink({
      producer,
      name: "kafka [remote_kafka]",
      compression: CompressionTypes.None,
      maxBatchBytes: 1_000_000,
      partitions: destinationPartitionGuard(admin, new Map([[topic, 1]]), "[remote_kafka]"),
    });
    const message = (partition: number) => ({ topic, partition, key: Buffer.from("k"), value: Buffer.from(`p${partition}`), headers: {}, timestamp: String(Date.now()) });
    expect(await sink.write([message(0)])).toEqual({ written: 1, duplicates: 0, rejected: [] });
    const refused = await sink.write([message(0), message(1)]).then(() => undefined, (error: Error) => error);
    expect(refused).toBeInstanceOf(PartitionCountError);
    expect(refused?.message).toContain(`destination topic '${topic}' on [remote_kafka] has 1 partition(s); source partition 1 has no counterpart`);
  } finally {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  }
}, 60_000);
