/**
 * Partition pausing on the real stack (issue 9, item 6): Kafka's consumer
 * group through the engine into FerretDB, behind a proxy that refuses the
 * inserts of partition 0's documents (an unmet write concern: transient).
 * Partition 1 must land everything while partition 0 is paused; once the
 * faults stop, partition 0 resumes from its committed offset and lands
 * every record once, with its commits in order.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MongoClient, type Document } from "mongodb";
import { EngineEvents } from "../../lib/engine/events.ts";
import { runPipeline } from "../../lib/engine/pipeline.ts";
import type { Processor } from "../../lib/engine/record.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { mongoSink } from "../../lib/sinks/mongo.ts";
import { openKafkaSource } from "../../lib/sources/kafka.ts";
import { startMongoFaultProxy, type MongoFaultProxy } from "../helpers/mongo-fault-proxy.ts";
import { createTopic, kafkaClient, mongoConfig, produce, Steps, uniqueName, withAdmin, withMongo } from "../helpers/stack-fixtures.ts";

const PER_PARTITION = 40;
const DB = mongoConfig.defaultDatabase ?? "toolkit";

/** A document per record, its _id fixed by partition and offset, so a rewritten record is a duplicate. */
const toDocument: Processor<Document> = (record) => ({
  kind: "write",
  item: { _id: `${record.partition}-${record.offset}`, p: record.partition, o: Number(record.offset) },
});

let proxy: MongoFaultProxy;
let client: MongoClient;

beforeAll(async () => {
  proxy = await startMongoFaultProxy(mongoConfig.uri);
  const uri = new URL(mongoConfig.uri);
  uri.host = `127.0.0.1:${proxy.port}`;
  client = new MongoClient(uri.toString(), { serverSelectionTimeoutMS: 20_000 });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

describe("partition pausing on Kafka and FerretDB", () => {
  test("partition 0's inserts keep failing: partition 1 lands everything meanwhile; healed, partition 0 lands every record once, commits in order", async () => {
    const topic = uniqueName("pause");
    await createTopic(topic, 2);
    const messages = (partition: number) => Array.from({ length: PER_PARTITION }, (_, i) => ({ partition, value: JSON.stringify({ i }) }));
    await produce(topic, messages(0));
    const collection = client.db(DB).collection(topic.replaceAll("-", "_"));

    proxy.faultIf = (command, documents) => command.insert !== undefined && documents.some((d) => Number(d.p) === 0);
    proxy.writeConcernErrors = true;
    const events = new EngineEvents();
    const committed = [0, 0];
    const commits: number[] = [];
    const paused: number[] = [];
    events.on("chunk.committed", (e) => (committed[e.partition]! += e.records));
    events.on("commit", (e) => e.ok && e.partition === 0 && commits.push(Number(e.offset)));
    events.on("partition.paused", (e) => paused.push(e.partition));

    const source = await openKafkaSource({ kafka: kafkaClient(), groupId: uniqueName("pause"), topics: [topic], resetToEarliest: false, log: silentLogger, maxWaitMs: 200 });
    const stop = new AbortController();
    const steps = new Steps("partition pausing");
    const state = () => `committed ${committed.join("/")}, paused ${paused.join(",")}, faulted ${proxy.faulted}`;
    const running = runPipeline({
      source,
      sink: mongoSink(collection),
      processor: toDocument,
      onError: "stop",
      batchSize: 5,
      untilCaughtUp: true,
      log: silentLogger,
      logInterval: 1_000_000,
      signal: stop.signal,
      retry: { initialMs: 20, maxMs: 50 },
      pausePolicy: { failures: 3, windowMs: 60_000, pauseMs: 1_000 },
      events,
    });
    try {
      await steps.until("partition 0 is paused", 30_000, () => paused.includes(0), state);
      // Only now partition 1 gets records: the writers and the queue must have been freed of partition 0's chunks.
      await produce(topic, messages(1));
      await steps.until("partition 1 lands all its records while partition 0 fails", 30_000, () => committed[1] === PER_PARTITION, state);
      expect(committed[0]).toBe(0);
      proxy.writeConcernErrors = false;
      const summary = await steps.run("partition 0 lands once its inserts succeed, and the run catches up", 30_000, running, state);
      expect(summary.stoppedBy).toBe("caught-up");
      expect(summary.committed).toBe(2 * PER_PARTITION);
    } finally {
      stop.abort();
      await running.catch(() => {});
      await source.close();
    }
    expect(committed).toEqual([PER_PARTITION, PER_PARTITION]);
    expect(commits.every((offset, i) => i === 0 || offset > commits[i - 1]!)).toBe(true);
    const offsets = await withAdmin(undefined, (admin) => admin.fetchOffsets({ groupId: source.groupId, topics: [topic] }));
    expect(offsets[0]!.partitions.map((p) => p.offset).sort()).toEqual([String(PER_PARTITION), String(PER_PARTITION)]);
    const stored = await withMongo((direct) => direct.db(DB).collection(collection.collectionName).find({ p: 0 }).toArray());
    expect(stored.map((d) => d.o).sort((a, b) => a - b)).toEqual(Array.from({ length: PER_PARTITION }, (_, i) => i));
    steps.done();
  }, 180_000);
});
