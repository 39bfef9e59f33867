/**
 * The main jobs under Deno 2 (the `deno` npm package), on the real stack,
 * with exact counts: kafka2mongo into FerretDB, kafka2sql into a SQLite file
 * (node:sqlite under Deno) and kafka2kafka from the remote cluster to the
 * local one. The kafka2mongo run also sets consumer and
 * producer tuning keys through the environment, so they reach kafkajs.
 */
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { kafkaSection } from "../../lib/config/kafka-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import { REPO_ROOT, runTool } from "../helpers/run-tool.ts";
import { createTopic, produce, produceJson, uniqueName, withAdmin, withMongo } from "../helpers/stack-fixtures.ts";

const CONFIG = resolve(REPO_ROOT, "config/local-stack.ini");
const FLAGS = ["--config", CONFIG, "--log-dir", "none", "--log-format", "json"];
const stackConfig = loadConfigSource(CONFIG);
const REMOTE = kafkaSection(stackConfig, "remote_kafka").brokers;
const LOCAL = kafkaSection(stackConfig, "local_kafka").brokers;
const DB = "toolkit_tests";

function deno(tool: string, args: string[], env: Record<string, string> = {}) {
  return runTool(tool, [...FLAGS, ...args], { runtime: "deno", env, timeoutMs: 120_000 });
}

function summaryOf(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
}

async function messagesIn(brokers: string[], topic: string): Promise<number[]> {
  const offsets = await withAdmin(brokers, (admin) => admin.fetchTopicOffsets(topic));
  return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high) - Number(o.low));
}

describe("under deno", () => {
  test("kafka2mongo lands 3000 messages exactly, with tuning keys from the environment", async () => {
    const topic = uniqueName("deno-k2m");
    await createTopic(topic, 3);
    await produceJson(topic, 3000);
    const tuning = {
      KT_LOCAL_KAFKA_MAX_PARTITION_FETCH_BYTES: "65536",
      KT_LOCAL_KAFKA_FETCH_MAX_WAIT_MS: "200",
      KT_LOCAL_KAFKA_SESSION_TIMEOUT_MS: "20000",
      KT_LOCAL_KAFKA_HEARTBEAT_INTERVAL_MS: "2000",
      KT_LOCAL_KAFKA_LINGER_MS: "5",
      KT_LOCAL_KAFKA_BATCH_SIZE: "65536",
    };
    const run = await deno(
      "tools/kafka2mongo.ts",
      ["--topic", topic, "--group", `${topic}-group`, "--db", DB, "--collection", topic, "--batch-size", "250", "--until-caught-up", "--json"],
      tuning,
    );
    expect(run.stderr).not.toContain('"level":"error"');
    expect(run.code).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ consumed: 3000, inserted: 3000, committed: 3000, remaining_lag: 0, stopped_by: "caught-up" });
    const stored = await withMongo((client) => client.db(DB).collection(topic).countDocuments());
    expect(stored).toBe(3000);
  });

  test("kafka2sql lands 3000 messages in SQLite exactly once, and a replay finds only duplicates", async () => {
    const topic = uniqueName("deno-k2sql");
    const table = topic.replaceAll("-", "_");
    const file = resolve(REPO_ROOT, ".stack/sqlite", `${topic}.db`);
    await createTopic(topic, 3);
    await produceJson(topic, 3000);
    const sqlArgs = ["--sql", "sqlite", "--topic", topic, "--group", `${topic}-group`, "--table", table, "--columns", "seq:bigint", "--until-caught-up", "--json"];
    try {
      const run = await deno("tools/kafka2sql.ts", sqlArgs, { KT_SQLITE_PATH: file });
      expect(run.stderr).not.toContain('"level":"error"');
      expect(run.code).toBe(0);
      expect(summaryOf(run.stdout)).toMatchObject({ consumed: 3000, inserted: 3000, committed: 3000, remaining_lag: 0, stopped_by: "caught-up" });
      const replay = await deno("tools/kafka2sql.ts", [...sqlArgs, "--from-beginning"], { KT_SQLITE_PATH: file });
      expect(replay.code).toBe(0);
      expect(summaryOf(replay.stdout)).toMatchObject({ inserted: 0, duplicates: 3000 });
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        const stored = db.prepare(`SELECT count(*) AS rows, count(DISTINCT "seq") AS seqs FROM "${table}"`).get();
        expect(stored).toEqual({ rows: 3000, seqs: 3000 });
      } finally {
        db.close();
      }
    } finally {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
    }
  });

  test("kafka2kafka copies 3000 messages exactly, partition by partition", async () => {
    const topic = uniqueName("deno-k2k");
    await createTopic(topic, 3, REMOTE);
    const messages = Array.from({ length: 3000 }, (_, i) => ({ partition: i % 3, key: `k-${i}`, value: `v-${i}` }));
    await produce(topic, messages, REMOTE);
    const run = await deno("tools/kafka2kafka.ts", ["--from", "remote_kafka", "--to", "local_kafka", "--topic", topic, "--group", `${topic}-group`, "--until-caught-up", "--json"]);
    expect(run.stderr).not.toContain('"level":"error"');
    expect(run.code).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ consumed: 3000, copied: 3000, committed: 3000, remaining_lag: 0 });
    expect(await messagesIn(LOCAL, topic)).toEqual([1000, 1000, 1000]);
  });

  test("a wrong tuning value is one line naming file, section and key, exit 2", async () => {
    const run = await deno("tools/kafka2mongo.ts", ["--topic", "any", "--until-caught-up"], { KT_LOCAL_KAFKA_FETCH_MAX_BYTES: "10MB" });
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(`${CONFIG}: [local_kafka] fetch_max_bytes: expected a whole number of bytes`);
  });
});
