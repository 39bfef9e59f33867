/**
 * The operations tools against the local stack (config/local-stack.ini):
 * produce-test-data, verify-topic (with reconciliation), mongo-health and
 * consumer-lag, run as subprocesses the way a user or cron runs them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Admin } from "kafkajs";
import { MongoClient, type Document } from "mongodb";
import { BAD_KINDS, createGenerator } from "../../lib/generate/generator.ts";
import type { VerifyReport } from "../../lib/inspect/verify-report.ts";
import { startMongoFaultProxy } from "../helpers/mongo-fault-proxy.ts";
import { runTool } from "../helpers/run-tool.ts";
import { kafkaClient, mongoConfig, runToolToEnd, uniqueName } from "../helpers/stack-fixtures.ts";

const kafka = kafkaClient();
const mongoUri = mongoConfig.uri;
const TEST_DB = "toolkit_ops_tests";
const TIMEOUT = 120_000;

const createdTopics: string[] = [];
const topicFor = (what: string) => {
  const topic = uniqueName(`ops-${what}`);
  createdTopics.push(topic, `${topic}.dlq`);
  return topic;
};

function tool(name: string, args: string[], env?: Record<string, string>) {
  return runToolToEnd(`tools/${name}.ts`, args, env);
}

async function produce(topic: string, args: string[] = []) {
  const run = await tool("produce-test-data", ["--topic", topic, "--json", ...args]);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout);
}

async function verify(topic: string, args: string[] = []) {
  const run = await tool("verify-topic", ["--topic", topic, "--json", ...args]);
  return { ...run, report: JSON.parse(run.stdout) as VerifyReport };
}

let admin: Admin;
let mongo: MongoClient;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  mongo = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 10_000 });
  await mongo.connect();
});

afterAll(async () => {
  const existing = new Set(await admin.listTopics());
  const topics = createdTopics.filter((t) => existing.has(t));
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  await mongo.db(TEST_DB).dropDatabase().catch(() => undefined);
  await mongo.close();
});

describe("produce-test-data and verify-topic", () => {
  test(
    "1000 produced, exactly 1000 verified; a wrong --expect-count exits 1",
    async () => {
      const topic = topicFor("count");
      const summary = await produce(topic, ["--count", "1000"]);
      expect(summary).toMatchObject({ sent: 1000, failed: 0, stopped_by: "count" });

      const ok = await verify(topic, ["--expect-count", "1000"]);
      expect(ok.code).toBe(0);
      expect(ok.report).toMatchObject({ ok: true, complete: true, messages: 1000 });
      expect(ok.report.partitions).toHaveLength(3);
      expect(ok.report.partitions.reduce((sum, p) => sum + p.count, 0)).toBe(1000);
      expect(ok.report.values.json).toBe(1000);

      const wrong = await verify(topic, ["--expect-count", "999"]);
      expect(wrong.code).toBe(1);
      expect(wrong.report.ok).toBe(false);
      expect(wrong.stderr).toContain("expected 999 messages, found 1000");
    },
    TIMEOUT,
  );

  test(
    "malformed messages are counted exactly as the seeded generator made them",
    async () => {
      const topic = topicFor("bad");
      await produce(topic, ["--count", "400", "--seed", "9", "--bad-ratio", "0.25"]);
      const expected = Object.fromEntries(BAD_KINDS.map((k) => [k, 0]));
      for (const m of createGenerator({ kind: "user-login", seed: 9, badRatio: 0.25 }).batch(400)) {
        if (m.bad) expected[m.bad] = (expected[m.bad] ?? 0) + 1;
      }
      const bad = Object.values(expected).reduce((a, b) => a + b, 0);

      const { code, report } = await verify(topic, ["--schema", "user-login"]);
      expect(code).toBe(0);
      expect(report.values).toEqual({
        json: 400 - (expected["invalid-json"] ?? 0) - (expected["invalid-utf8"] ?? 0) - (expected.empty ?? 0),
        "invalid-json": expected["invalid-json"] ?? 0,
        "invalid-utf8": expected["invalid-utf8"] ?? 0,
        empty: expected.empty ?? 0,
      });
      expect(report.schema).toMatchObject({ name: "user-login", valid: 400 - bad, invalid: bad });
      expect(report.schema?.reasons["invalid JSON"]).toBe(expected["invalid-json"]);
    },
    TIMEOUT,
  );

  test(
    "items carry seed 003's headers and pass the item schema",
    async () => {
      const topic = topicFor("items");
      await produce(topic, ["--generator", "item", "--count", "50", "--compression", "gzip", "--acks", "1"]);
      const { code, report } = await verify(topic, ["--schema", "item", "--sample", "2"]);
      expect(code).toBe(0);
      expect(report.schema).toMatchObject({ valid: 50, invalid: 0 });
      expect(report.samples).toHaveLength(2);
      const sample = report.samples[0];
      expect(sample?.headers["content-type"]).toBe("application/json");
      expect(sample?.key).toBe(JSON.parse(sample?.value ?? "{}").id);
    },
    TIMEOUT,
  );

  test(
    "a topic that does not exist exits 1 and is not created",
    async () => {
      const topic = topicFor("missing");
      const run = await tool("verify-topic", ["--topic", topic]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("does not exist");
      expect(await admin.listTopics()).not.toContain(topic);
    },
    TIMEOUT,
  );
});

describe("verify-topic --against-mongo", () => {
  test(
    "every offset is a document or a dead letter; a deleted document is named and fails the run",
    async () => {
      const topic = topicFor("reconcile");
      const collectionName = uniqueName("landed");
      const collection = mongo.db(TEST_DB).collection<Document>(collectionName);
      await produce(topic, ["--count", "300", "--seed", "4"]);
      const { report } = await verify(topic);

      // Documents shaped like kafka2mongo's, one per offset read.
      const docs: Document[] = [];
      for (const p of report.partitions) {
        for (let offset = p.earliest; offset < p.end; offset++) {
          docs.push({ _id: `${topic}:${p.partition}:${offset}`, _kafka_topic: topic, _kafka_partition: p.partition, _kafka_offset: offset });
        }
      }
      await collection.insertMany(docs);
      const against = ["--against-mongo", "--db", TEST_DB, "--collection", collectionName];

      const clean = await verify(topic, against);
      expect(clean.code).toBe(0);
      expect(clean.report.reconciliation).toMatchObject({ expected: 300, landed: 300, missing_count: 0, dlq_exists: false });

      // Item 8 of issue 9: one projected scan of the collection, not a query per offset.
      const proxy = await startMongoFaultProxy(mongoUri);
      try {
        const counted = await tool("verify-topic", ["--topic", topic, "--json", ...against], { KT_MONGODB_PORT: String(proxy.port) });
        expect(counted.code).toBe(0);
        expect((proxy.commands.find ?? 0) + (proxy.commands.getMore ?? 0)).toBeLessThanOrEqual(3);
        expect(proxy.commands.find ?? 0).toBeGreaterThanOrEqual(1);
      } finally {
        await proxy.close();
      }

      const victim = report.partitions.find((p) => p.count > 5);
      if (!victim) throw new Error("no partition with more than 5 messages");
      const offset = victim.earliest + 5;
      await collection.deleteOne({ _id: `${topic}:${victim.partition}:${offset}` } as Document);
      const broken = await verify(topic, against);
      expect(broken.code).toBe(1);
      expect(broken.report.reconciliation).toMatchObject({ missing_count: 1, missing: [{ partition: victim.partition, offset }] });
      expect(broken.stderr).toContain(`${victim.partition}:${offset}`);

      // The same offset in the dead-letter topic accounts for it.
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: `${topic}.dlq`,
        messages: [
          {
            value: "bad",
            headers: { "x-source-topic": topic, "x-source-partition": String(victim.partition), "x-source-offset": String(offset) },
          },
        ],
      });
      await producer.disconnect();
      const dead = await verify(topic, against);
      expect(dead.code).toBe(0);
      expect(dead.report.reconciliation).toMatchObject({ dead_lettered: 1, missing_count: 0, dlq_exists: true, dlq_messages: 1 });

      // A second document for one offset is a duplicate: reported, not fatal.
      const first = report.partitions[0];
      await collection.insertOne({ _id: uniqueName("dup"), _kafka_topic: topic, _kafka_partition: first?.partition, _kafka_offset: first?.earliest } as Document);
      const duplicated = await verify(topic, against);
      expect(duplicated.code).toBe(0);
      expect(duplicated.report.reconciliation).toMatchObject({ duplicate_count: 1 });
    },
    TIMEOUT,
  );
});

describe("mongo-health", () => {
  test(
    "a reachable server is healthy; --json carries the health and the inventory",
    async () => {
      const collectionName = uniqueName("health");
      await mongo.db(TEST_DB).collection(collectionName).insertMany([{ a: 1 }, { a: 2 }]);
      // A loaded machine can take seconds to answer; the verdict, not the speed, is under test.
      const run = await tool("mongo-health", ["--timeout", "30", "--db", TEST_DB, "--collections", collectionName, "--json"]);
      expect(run.code).toBe(0);
      const health = JSON.parse(run.stdout);
      expect(health).toMatchObject({
        healthy: true,
        reachable: true,
        replica_set: { mode: "standalone" },
        write_majority: { possible: true },
        inventory: { database: TEST_DB, notes: [] },
      });
      expect(typeof health.ping_ms).toBe("number");
      expect(typeof health.version).toBe("string");
      expect(health.inventory.collections).toHaveLength(1);
      const [listed] = health.inventory.collections;
      expect(listed).toMatchObject({ name: collectionName, count: 2 });
      expect(listed.indexes.map((i: { name: string }) => i.name)).toContain("_id_");
    },
    TIMEOUT,
  );

  test(
    "many collections: healthy, exit 0, with a partial inventory that says what was not measured in time",
    async () => {
      // Enough collections that measuring them all takes far longer than the
      // inventory's budget of 0.1 s (about 6 s on the local stack).
      const db = mongo.db(uniqueName("health_many"));
      const docs = Array.from({ length: 20 }, (_, i) => ({ i }));
      const names = Array.from({ length: 120 }, (_, i) => `c${String(i).padStart(3, "0")}`);
      for (let i = 0; i < names.length; i += 20) {
        await Promise.all(names.slice(i, i + 20).map((name) => db.collection(name).insertMany(docs.map((d) => ({ ...d })))));
      }
      try {
        const args = ["--timeout", "30", "--db", db.databaseName, "--inventory-timeout", "0.1", "--max-collections", "500"];
        const run = await tool("mongo-health", [...args, "--json"]);
        expect(run.code).toBe(0);
        const health = JSON.parse(run.stdout);
        expect(health).toMatchObject({ healthy: true, problems: [], inventory: { complete: false } });
        expect(health.inventory.notes.join("\n")).toContain("not measured in time (0.1 s)");

        const text = await tool("mongo-health", args);
        expect(text.code).toBe(0);
        expect(text.stdout).toContain(": healthy");
        expect(text.stdout).toContain("count: not measured in time");

        const limited = await tool("mongo-health", ["--timeout", "30", "--db", db.databaseName, "--max-collections", "3", "--inventory-timeout", "60", "--json"]);
        const inventory = JSON.parse(limited.stdout).inventory;
        expect(inventory.collections_total).toBe(120);
        expect(inventory.collections.map((c: { name: string }) => c.name).sort()).toEqual(["c000", "c001", "c002"]);
        expect(inventory.notes).toEqual(["showing 3 of 120 collections (raise --max-collections, or pick with --collections)"]);
      } finally {
        await db.dropDatabase();
      }
    },
    TIMEOUT,
  );

  test(
    "a dead port is unhealthy: exit 1 within the timeout, no hang, no inventory",
    async () => {
      const run = await tool("mongo-health", ["--timeout", "2", "--db", TEST_DB, "--json"], { KT_MONGODB_PORT: "1" });
      expect(run.timedOut).toBe(false);
      expect(run.code).toBe(1);
      const health = JSON.parse(run.stdout);
      expect(health).toMatchObject({ healthy: false, reachable: false });
      expect(health.inventory).toBeUndefined();
    },
    TIMEOUT,
  );
});

describe("consumer-lag", () => {
  /** Consumes exactly `count` messages in `groupId` and commits them. */
  async function consumeAndCommit(topic: string, groupId: string, count: number) {
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const next = new Map<number, number>();
    let consumed = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("consuming timed out")), 60_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (consumed >= count) return;
          consumed++;
          next.set(partition, Number(message.offset) + 1);
          if (consumed === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.commitOffsets([...next].map(([partition, offset]) => ({ topic, partition, offset: String(offset) })));
    await consumer.disconnect();
  }

  test(
    "lag is produced minus consumed; --max-lag alerts above the limit",
    async () => {
      const topic = topicFor("lag");
      const group = uniqueName("group");
      await produce(topic, ["--count", "1000"]);
      await consumeAndCommit(topic, group, 400);

      const run = await tool("consumer-lag", ["--group", group, "--json"]);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.total_lag).toBe(600);
      const lag = report.groups[0].topics[0];
      expect(lag.topic).toBe(topic);
      expect(lag.partitions.reduce((sum: number, p: { lag: number }) => sum + p.lag, 0)).toBe(600);

      expect((await tool("consumer-lag", ["--group", group, "--max-lag", "599"])).code).toBe(1);
      expect((await tool("consumer-lag", ["--group", group, "--max-lag", "600"])).code).toBe(0);
      await admin.deleteGroups([group]).catch(() => undefined);
    },
    TIMEOUT,
  );

  test(
    "partitions never committed count from the earliest offset; an unknown group exits 1",
    async () => {
      const topic = topicFor("nocommit");
      await produce(topic, ["--count", "90"]);
      const fresh = uniqueName("fresh-group");

      const unknown = await tool("consumer-lag", ["--group", fresh]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("no committed offsets");

      const run = await tool("consumer-lag", ["--group", fresh, "--topic", topic, "--json"]);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.total_lag).toBe(90);
      for (const p of report.groups[0].topics[0].partitions) expect(p).toMatchObject({ committed: null, from_earliest: true });
    },
    TIMEOUT,
  );
});

describe("an unreachable broker fails fast", () => {
  test.each([
    ["produce-test-data", ["--topic", "unreachable"]],
    ["verify-topic", ["--topic", "unreachable"]],
    ["consumer-lag", ["--group", "unreachable"]],
  ] as Array<[string, string[]]>)(
    "%s exits 1 with the connection error",
    async (name, args) => {
      const run = await tool(name, args, { KT_LOCAL_KAFKA_SERVERS: "127.0.0.1:1" });
      expect(run.timedOut).toBe(false);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${name}: error: Connection error`);
    },
    TIMEOUT,
  );
});

describe("usage errors exit 2 with one line", () => {
  const cases: Array<[string, string[], string]> = [
    ["produce-test-data", ["--topic", "x", "--nope"], "unknown flag --nope"],
    ["produce-test-data", ["--topic", "x", "--bad-ratio", "2"], "--bad-ratio must be <= 1"],
    ["produce-test-data", ["--topic", "x", "--bad-ratio", "lots"], "--bad-ratio must be a number"],
    ["produce-test-data", ["--topic", "x", "--size", "100"], "--size applies to --generator raw only"],
    ["produce-test-data", ["--topic", "x", "--rate", "10", "--interval-ms", "5"], "--rate or --interval-ms"],
    ["verify-topic", [], "--topic is required"],
    ["verify-topic", ["--topic", "x", "--against-mongo", "mongodb"], "unexpected argument 'mongodb'"],
    ["verify-topic", ["--topic", "x", "--schema", "avro"], "--schema must be one of"],
    ["mongo-health", ["--timeout", "soon"], "--timeout must be a number"],
    ["consumer-lag", ["--group", "g", "--all"], "--group or --all"],
    ["consumer-lag", ["--max-lag=-1"], "--max-lag must be >= 0"],
  ];
  test.each(cases)(
    "%s %p",
    async (name, args, message) => {
      const run = await tool(name, args);
      expect(run.code).toBe(2);
      const lines = run.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
    },
    TIMEOUT,
  );

  test.each(["produce-test-data", "verify-topic", "mongo-health", "consumer-lag"])(
    "%s --help shows examples and exits 0",
    async (name) => {
      const run = await runTool(`tools/${name}.ts`, ["--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("Examples:");
      expect(run.stdout).toContain(`bun tools/${name}.ts`);
    },
    TIMEOUT,
  );
});
