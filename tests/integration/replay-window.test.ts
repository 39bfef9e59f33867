/**
 * --from-time/--to-time on the pipeline tools, through the engine's Kafka
 * source: a group replays exactly the messages whose offsets lie inside the
 * window (by the messages' own timestamps), commits nothing past its end and
 * exits 0 there, on kafka2sql, kafka2mongo, kafka2kafka and process-events.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createGenerator } from "../../lib/generate/generator.ts";
import { ROOT, createTopic, kafkaClient, produce, runToolToEnd, uniqueName, withAdmin, withMongo } from "../helpers/stack-fixtures.ts";

const PARTITIONS = 3;
const PER_PARTITION = 30;
// Message i of each partition has timestamp BASE + i s: the window [10 s, 20 s) holds i = 10..19.
// An hour ago, whole seconds: timestamps older than the topic's retention
// (7 days) let the broker delete the whole log at its next retention check,
// which in a long suite came between producing and reading.
const BASE = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const FROM = new Date(BASE + 10_000).toISOString();
const TO = String(BASE + 20_000);
const SQLITE_FILE = resolve(ROOT, ".stack/sqlite", `replay-window-${process.pid}.db`);
const topic = uniqueName("window");
const eventsTopic = uniqueName("window-events");
const outputs = [`${eventsTopic}.out`, `${eventsTopic}.errors`];

beforeAll(async () => {
  await Promise.all([createTopic(topic, PARTITIONS), createTopic(eventsTopic, PARTITIONS)]);
  const events = createGenerator({ kind: "user-login-mix", seed: 3, key: "field" }).batch(PARTITIONS * PER_PARTITION);
  const at = (p: number, i: number) => ({ partition: p, timestamp: String(BASE + i * 1000) });
  const all = Array.from({ length: PARTITIONS }, (_, p) => Array.from({ length: PER_PARTITION }, (_, i) => [p, i] as const)).flat();
  await produce(topic, all.map(([p, i]) => ({ ...at(p, i), key: `k${i}`, value: JSON.stringify({ p, i }) })));
  await produce(eventsTopic, all.map(([p, i], n) => ({ ...at(p, i), key: events[n]!.key, value: events[n]!.value })));
}, 60_000);

afterAll(async () => {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(SQLITE_FILE + suffix, { force: true });
  await withMongo((client) => client.db("replay_window").dropDatabase()).catch(() => {});
  await withAdmin(undefined, (admin) => admin.deleteTopics({ topics: [topic, `${topic}.dlq`, `window.${topic}`, eventsTopic, ...outputs] })).catch(() => {});
});

async function committed(group: string, of: string): Promise<Record<number, string>> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [of] });
    return Object.fromEntries(offsets!.partitions.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

const lastLine = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
const everyPartition = (offset: string) => Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [p, offset]));

describe("replay window", () => {
  test("kafka2sql --from-time --to-time lands exactly the window, commits its end and exits 0", async () => {
    const group = uniqueName("window-sql");
    const table = topic.replaceAll("-", "_");
    const env = { KT_SQLITE_PATH: SQLITE_FILE };
    const run = await runToolToEnd("tools/kafka2sql.ts", ["--topic", topic, "--group", group, "--table", table, "--json", "--from-time", FROM, "--to-time", TO], env);
    expect(run.code, run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toMatchObject({ consumed: PARTITIONS * 10, committed: PARTITIONS * 10 });
    const db = new DatabaseSync(SQLITE_FILE, { readOnly: true });
    const rows = db.prepare(`SELECT "partition", "offset", message_timestamp FROM "${table}"`).all() as { offset: number }[];
    db.close();
    expect(rows.map((r) => Number(r.offset)).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => [10 + i, 10 + i, 10 + i]).flat());
    expect(await committed(group, topic)).toEqual(everyPartition("20"));

    // The same group again up to the same end: nothing left, exit 0 at once.
    const again = await runToolToEnd("tools/kafka2sql.ts", ["--topic", topic, "--group", group, "--table", table, "--json", "--to-time", TO], env);
    expect(again.code, again.stderr).toBe(0);
    expect(lastLine(again.stdout)).toMatchObject({ consumed: 0 });
  });

  test("kafka2mongo and kafka2kafka take the same window", async () => {
    const mongo = await runToolToEnd("tools/kafka2mongo.ts", [
      "--topic", topic, "--group", uniqueName("window-mongo"), "--db", "replay_window", "--collection", topic, "--json", "--from-time", FROM, "--to-time", TO,
    ]);
    expect(mongo.code, mongo.stderr).toBe(0);
    expect(lastLine(mongo.stdout)).toMatchObject({ consumed: PARTITIONS * 10, inserted: PARTITIONS * 10 });
    const copy = await runToolToEnd("tools/kafka2kafka.ts", [
      "--from", "local_kafka", "--to", "local_kafka", "--topic", topic, "--prefix", "window.", "--group", uniqueName("window-k2k"), "--json",
      "--from-time", FROM, "--to-time", TO,
    ]);
    expect(copy.code, copy.stderr).toBe(0);
    expect(lastLine(copy.stdout)).toMatchObject({ consumed: PARTITIONS * 10 });
  });

  test("process-events --from-time --to-time: every message of the window has exactly one outcome", async () => {
    const group = uniqueName("window-events");
    const run = await runToolToEnd("tools/process-events.ts", [
      "--in", eventsTopic, "--out", outputs[0]!, "--errors-topic", outputs[1]!, "--filtered-topic", "none", "--summary-topic", "none",
      "--group", group, "--json", "--from-time", FROM, "--to-time", TO,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = lastLine(run.stdout);
    expect(report.consumed).toBe(PARTITIONS * 10);
    expect(report.processed + report.filtered + report.errors).toBe(PARTITIONS * 10);
    expect(await committed(group, eventsTopic)).toEqual(everyPartition("20"));
  });
});
