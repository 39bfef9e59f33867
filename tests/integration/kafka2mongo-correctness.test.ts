/**
 * kafka2mongo on the real stack, for what review found and issue 9 asked:
 * dead-letter topic equal to the source (4i), exact values, metadata names
 * and binary keys landing (item 3), database.ini as configparser reads it
 * (item 7), oversized and deeply nested messages (4f), dead letters stamped
 * with the current time (4d), unique indexes other than _id (4b), fatal
 * command errors (4e), an unmet write concern until --max-outage (4c, item 6),
 * --index and --write-mode upsert.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Document } from "mongodb";
import { DLQ_HEADERS } from "../../lib/sinks/dead-letter-topic.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMongoFaultProxy } from "../helpers/mongo-fault-proxy.ts";
import { runTool } from "../helpers/run-tool.ts";
import {
  createTopic,
  headerText,
  localKafka,
  mongoConfig,
  produce,
  readAll,
  runToolToEnd,
  Steps,
  uniqueName,
  withAdmin,
  withMongo,
} from "../helpers/stack-fixtures.ts";

const DB = "kafka2mongo_correctness";
const topics: string[] = [];

async function newTopic(prefix: string, partitions = 1, configEntries: { name: string; value: string }[] = []): Promise<string> {
  const topic = uniqueName(prefix);
  topics.push(topic, `${topic}.dlq`);
  await createTopic(topic, partitions, undefined, configEntries);
  return topic;
}

function kafka2mongo(topic: string, collection: string, extra: string[] = [], env?: Record<string, string>) {
  return runToolToEnd("tools/kafka2mongo.ts", [
    "--topic", topic, "--group", uniqueName("g"), "--db", DB, "--collection", collection, "--until-caught-up", "--json", ...extra,
  ], env);
}

function documents(collection: string, query: Document = {}): Promise<Document[]> {
  return withMongo((c) => c.db(DB).collection(collection).find(query, { useBigInt64: true }).sort({ _kafka_offset: 1 }).toArray());
}

afterAll(async () => {
  await withMongo((c) => c.db(DB).dropDatabase()).catch(() => {});
  await withAdmin(undefined, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const mine = topics.filter((t) => existing.has(t));
    if (mine.length) await admin.deleteTopics({ topics: mine });
  }).catch(() => {});
});

describe("kafka2mongo usage", () => {
  test("4i: --dlq-topic equal to --topic is refused with exit 2", async () => {
    const topic = await newTopic("dlq-self");
    const run = await kafka2mongo(topic, "never", ["--dlq-topic", topic]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--dlq-topic '${topic}' is the topic being consumed`);
  }, 60_000);
});

describe("exact values, metadata names and binary keys (item 3), database.ini as configparser reads it (item 7)", () => {
  test("metadata-named fields are kept with a _value prefix; a non-UTF-8 key and header land as binary; big integers keep every digit", async () => {
    const topic = await newTopic("item3");
    const key = Buffer.from([0xff, 0xfe, 0x00, 0xc3]);
    await produce(topic, [
      { key: "named", value: '{"_id":"own","_kafka_topic":"mine","_kafka_offset":-1,"_processed_at":"yesterday","big":1234567890123456789}' },
      { key, value: '{"a":1}', headers: { bin: Buffer.from([0xc3, 0x28]), txt: "ok" } },
    ]);
    const run = await kafka2mongo(topic, "item3");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ consumed: 2, inserted: 2, dead_lettered: 0 });
    const [named, binary] = await documents("item3", { _kafka_topic: topic });
    expect(named).toMatchObject({
      _id: `${topic}:0:0`,
      _value_id: "own",
      _value_kafka_topic: "mine",
      _kafka_topic: topic,
      _value_kafka_offset: -1,
      _kafka_offset: 0,
      _value_processed_at: "yesterday",
      big: 1234567890123456789n,
    });
    expect(named!._processed_at).toBeInstanceOf(Date);
    expect(Buffer.from(binary!._kafka_key.buffer)).toEqual(key);
    expect(Buffer.from(binary!._kafka_headers.bin.buffer)).toEqual(Buffer.from([0xc3, 0x28]));
    expect(binary!._kafka_headers.txt).toBe("ok");
  }, 120_000);

  test("dotted section names, # and ; inside values, and a uri with authSource, as Python's configparser reads the file", async () => {
    const topic = await newTopic("item7");
    await produce(topic, [{ key: "1", value: '{"a":1}' }, { key: "2", value: '{"a":2}' }]);
    const dir = mkdtempSync(join(tmpdir(), "item7-"));
    const config = join(dir, "database.ini");
    const uri = `${mongoConfig.uri.replace(/\/$/, "")}/?authSource=admin`;
    writeFileSync(
      config,
      [
        "# seed 000's layout, read by configparser too",
        "[prod.kafka]",
        `servers = ${localKafka.brokers.join(",")}`,
        "client_id = kt#prod;eu",
        "",
        "[prod.mongo]",
        `uri = ${uri}`,
        `default_database = ${DB}`,
        "; a comment line",
        "default_collection = landed#eu;1",
        "",
      ].join("\n"),
    );
    try {
      const run = await runTool("tools/kafka2mongo.ts", [
        "--config", config, "--log-dir", "none", "--log-format", "json",
        "--kafka", "prod.kafka", "--mongo", "prod.mongo", "--topic", topic, "--group", uniqueName("g"), "--until-caught-up", "--json",
      ]);
      expect(run.stderr).not.toContain('"level":"error"');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ consumed: 2, inserted: 2 });
      expect((await documents("landed#eu;1", { _kafka_topic: topic })).map((d) => d.a)).toEqual([1, 2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("messages that used to crash-loop a run (4f) and dead letters' timestamps (4d)", () => {
  test("oversized dead letters are split and truncated, JSON nested 20k deep is dead-lettered, and the run ends 0", async () => {
    const topic = await newTopic("crashloop", 1, [{ name: "max.message.bytes", value: "200000" }]);
    // The dead-letter topic accepts far less than a chunk's letters together, or the largest alone.
    await createTopic(`${topic}.dlq`, 1, undefined, [{ name: "max.message.bytes", value: "30000" }]);
    const old = String(Date.now() - 30 * 86_400_000);
    await produce(topic, [
      ...Array.from({ length: 8 }, (_, i) => ({ key: `bad-${i}`, value: `{not json ${i} ${"x".repeat(10_000)}`, timestamp: old })),
      { key: "huge", value: `{not json ${"y".repeat(60_000)}`, timestamp: old },
      { key: "deep", value: "[".repeat(20_000) + "]".repeat(20_000), timestamp: old },
      { key: "fine", value: '{"ok":true}', timestamp: old },
    ]);
    const before = Date.now();
    const run = await kafka2mongo(topic, "crashloop");
    expect(run.stderr.split("\n").filter((l) => l.includes('"level":"error"'))).toEqual([]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ consumed: 11, inserted: 1, dead_lettered: 10, remaining_lag: 0 });

    const letters = await readAll(`${topic}.dlq`);
    expect(letters.map((m) => m.key!.toString()).sort()).toEqual([...Array.from({ length: 8 }, (_, i) => `bad-${i}`), "deep", "huge"].sort());
    const huge = letters.find((m) => m.key!.toString() === "huge")!;
    expect(headerText(huge.headers, DLQ_HEADERS.truncated)).toMatch(/^value 60010 bytes, kept \d+/);
    expect(headerText(letters.find((m) => m.key!.toString() === "deep")!.headers, DLQ_HEADERS.reason)).toContain("nested 20000 levels deep");
    for (const letter of letters) {
      expect(Number(letter.timestamp)).toBeGreaterThanOrEqual(before - 1000);
      expect(headerText(letter.headers, DLQ_HEADERS.sourceTimestamp)).toBe(old);
    }
  }, 120_000);
});

describe("what MongoDB refuses", () => {
  test("4b: a clash on a unique index other than _id is dead-lettered naming the index, not counted as a duplicate", async () => {
    const topic = await newTopic("unique");
    await withMongo((c) => c.db(DB).collection("unique_email").createIndex({ email: 1 }, { unique: true }));
    await produce(topic, [
      { key: "1", value: '{"email":"a@x"}' },
      { key: "2", value: '{"email":"a@x"}' },
      { key: "3", value: '{"email":"b@x"}' },
    ]);
    const run = await kafka2mongo(topic, "unique_email");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ consumed: 3, inserted: 2, duplicates: 0, dead_lettered: 1 });
    const letters = await readAll(`${topic}.dlq`);
    expect(letters.map((m) => m.key!.toString())).toEqual(["2"]);
    expect(headerText(letters[0]!.headers, DLQ_HEADERS.reason)).toContain("unique index 'email_1'");

    // A real redelivery of the same offsets is still a duplicate.
    const again = await kafka2mongo(topic, "unique_email", ["--group", uniqueName("again")]);
    expect(JSON.parse(again.stdout)).toMatchObject({ consumed: 3, inserted: 0, duplicates: 2, dead_lettered: 1 });
  }, 120_000);

  test("4e: a command-level refusal (invalid collection name) exits 1 with one clear line and commits nothing", async () => {
    const topic = await newTopic("fatal");
    await produce(topic, [{ key: "1", value: '{"a":1}' }, { key: "2", value: '{"a":2}' }]);
    const group = uniqueName("fatal");
    const run = await kafka2mongo(topic, "bad$name", ["--group", group]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("InvalidNamespace");
    const committed = await withAdmin(undefined, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
    expect(committed[0]!.partitions.map((p) => p.offset)).toEqual(["-1"]);
    expect(await withAdmin(undefined, async (admin) => (await admin.listTopics()).includes(`${topic}.dlq`) ? (await admin.fetchTopicOffsets(`${topic}.dlq`))[0]!.high : "0")).toBe("0");
  }, 120_000);
});

describe("a sink that cannot succeed (4c, item 6)", () => {
  test("unmet write concern until --max-outage: exit 1, nothing committed or dead-lettered; a rerun lands every message once", async () => {
    const topic = await newTopic("wc-outage", 2);
    await produce(topic, Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ i }) })));
    const group = uniqueName("wc");
    const proxy = await startMongoFaultProxy(mongoConfig.uri);
    proxy.writeConcernErrors = true;
    const steps = new Steps("write concern never met, then a rerun");
    try {
      // Every insert is applied but never acknowledged as durable: the run retries until --max-outage.
      const run = await steps.run("run through the fault proxy", 90_000, kafka2mongo(topic, "wc_outage", ["--group", group, "--batch-size", "10", "--max-outage", "3"], { KT_MONGODB_PORT: String(proxy.port) }));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("--max-outage 3 s");
      expect(run.stderr).toContain("waiting for replication timed out");
      expect(proxy.faulted).toBeGreaterThan(0);
      const committed = await withAdmin(undefined, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
      expect(committed[0]!.partitions.map((p) => p.offset)).toEqual(["-1", "-1"]);
      const letters = await withAdmin(undefined, async (admin) => (await admin.fetchTopicOffsets(`${topic}.dlq`)).map((p) => p.high));
      expect(letters.every((high) => high === "0")).toBe(true);
    } finally {
      await proxy.close();
    }
    const rerun = await steps.run("rerun against FerretDB itself", 90_000, kafka2mongo(topic, "wc_outage", ["--group", group, "--batch-size", "10"]));
    expect(rerun.code).toBe(0);
    const summary = JSON.parse(rerun.stdout);
    expect(summary).toMatchObject({ consumed: 40, dead_lettered: 0, remaining_lag: 0 });
    // The faulted run's inserts were applied: they come back as duplicates.
    expect(summary.inserted + summary.duplicates).toBe(40);
    expect(summary.duplicates).toBeGreaterThan(0);
    expect((await documents("wc_outage", { _kafka_topic: topic })).length).toBe(40);
    steps.done();
  }, 240_000);
});

describe("keys as identities and indexes (items 5 and 8)", () => {
  test("--write-mode upsert with --id-strategy key: the latest message for a key wins, a tombstone deletes", async () => {
    const topic = await newTopic("upsert");
    await produce(topic, [
      { key: "k1", value: '{"v":1}' },
      { key: "k2", value: '{"v":1}' },
      { key: "k1", value: '{"v":2}' },
      { key: "k3", value: '{"v":1}' },
      { key: "k2", value: null },
      { key: "k1", value: '{"v":3}' },
      { key: "k4", value: '{"v":1}' },
      { key: "k4", value: null },
      { key: "k4", value: '{"v":2}' },
    ]);
    // Chunks of 2 put versions of a key in different writes as well as the same one.
    const args = ["--id-strategy", "key", "--write-mode", "upsert", "--batch-size", "2", "--index", "v,_kafka_offset"];
    const run = await kafka2mongo(topic, "upserted", args);
    expect(run.stderr.split("\n").filter((l) => l.includes('"level":"error"'))).toEqual([]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ consumed: 9, committed: 9, dead_lettered: 0 });
    const state = async () => (await documents("upserted")).map((d) => [d._id, d.v]).sort();
    expect(await state()).toEqual([["k1", 3], ["k3", 1], ["k4", 2]]);

    // A rerun from the start replays to the same state; the indexes are asked for again, harmlessly.
    const again = await kafka2mongo(topic, "upserted", args);
    expect(again.stderr.split("\n").filter((l) => l.includes('"level":"error"'))).toEqual([]);
    expect(again.code).toBe(0);
    expect(await state()).toEqual([["k1", 3], ["k3", 1], ["k4", 2]]);
    const indexes = await withMongo((c) => c.db(DB).collection("upserted").indexes());
    expect(indexes.map((i) => i.name).sort()).toEqual(["_id_", "_kafka_offset_1", "v_1"]);
  }, 120_000);
});
