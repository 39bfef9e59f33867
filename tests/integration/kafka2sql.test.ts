/**
 * kafka2sql against the real stack: Kafka, a SQLite file, and the stack's
 * PostgreSQL. Loss tests: kill -9 three times then --until-caught-up (every
 * offset a row or a dead letter, no duplicate row), on both targets; and
 * PostgreSQL stopped for a while mid-run and started again.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { sqlSection, type PostgresSection } from "../../lib/config/sql-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import { connectPostgres } from "../../lib/sinks/postgres.ts";
import { BUN } from "../helpers/run-tool.ts";
import {
  ROOT,
  STACK_CONFIG,
  createTopic,
  produce,
  produceJson,
  progressSoFar,
  readAll,
  runToolToEnd,
  startTool,
  uniqueName,
  waitFor,
} from "../helpers/stack-fixtures.ts";

const TOOL = "tools/kafka2sql.ts";
const SQLITE_FILE = resolve(ROOT, ".stack/sqlite", `kafka2sql-test-${process.pid}.db`);
const postgresSection = sqlSection(loadConfigSource(STACK_CONFIG), "postgres") as PostgresSection;
const pg = connectPostgres(postgresSection, 1);
/** Seconds PostgreSQL stays down in the outage test (the issue asks for 30). */
const OUTAGE_MS = Number(process.env.KT_TEST_PG_OUTAGE_MS ?? 30_000);

afterAll(async () => {
  await pg.end({ timeout: 2 });
  for (const suffix of ["", "-wal", "-shm"]) rmSync(SQLITE_FILE + suffix, { force: true });
});

type Target = "sqlite" | "postgres";

interface Run {
  topic: string;
  group: string;
  table: string;
}

async function newRun(count: number, partitions = 3): Promise<Run> {
  const topic = uniqueName("k2sql");
  await createTopic(topic, partitions);
  if (count > 0) await produceJson(topic, count);
  return { topic, group: `${topic}-group`, table: topic.replaceAll("-", "_") };
}

function args(target: Target, run: Run, ...extra: string[]): string[] {
  return ["--sql", target, "--topic", run.topic, "--group", run.group, "--table", run.table, "--json", ...extra];
}

/** The test's own SQLite file, so parallel test files never share one. */
const env = { KT_SQLITE_PATH: SQLITE_FILE };

function summaryOf(stdout: string): Record<string, number | string | null> {
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
}

async function rows(target: Target, table: string, columns = '"partition", "offset"'): Promise<Record<string, unknown>[]> {
  if (target === "postgres") return [...(await pg.unsafe(`SELECT ${columns} FROM "${table}"`))];
  const db = new DatabaseSync(SQLITE_FILE, { readOnly: true });
  try {
    return db.prepare(`SELECT ${columns} FROM "${table}"`).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Every offset in [0, total) is one row or one dead letter, and no offset has two rows. */
async function expectEveryOffsetOnce(target: Target, run: Run, total: number): Promise<void> {
  const landed = await rows(target, run.table);
  const offsets = landed.map((r) => `${r.partition}:${r.offset}`);
  expect(new Set(offsets).size).toBe(offsets.length);
  // The tool creates the dead-letter topic at start, so it exists even when empty.
  const dead = await readAll(`${run.topic}.dlq`);
  const deadOffsets = dead.map((m) => `${m.headers?.["x-source-partition"]}:${m.headers?.["x-source-offset"]}`);
  expect(offsets.length + deadOffsets.length).toBe(total);
  expect(new Set([...offsets, ...deadOffsets]).size).toBe(total);
}

describe.each(["sqlite", "postgres"] as const)("kafka2sql to %s", (target) => {
  test("lands messages with typed columns, dead-letters the bad ones, and a replay only finds duplicates", async () => {
    const run = await newRun(3_000);
    await produce(run.topic, [
      { key: "bad-json", value: "{not json" },
      { key: "bad-type", value: JSON.stringify({ seq: "not a number" }) },
      { key: "nul", value: JSON.stringify({ seq: 1, user_id: "a\u0000b" }) },
    ]);
    const columns = ["--columns", "seq:bigint,user_id:text"];
    const first = await runToolToEnd(TOOL, args(target, run, ...columns, "--until-caught-up"), env);
    expect(first.stderr).not.toContain('"level":"error"');
    expect(first.code).toBe(0);
    const summary = summaryOf(first.stdout);
    // A NUL character is valid JSON text but PostgreSQL's text and JSONB refuse it.
    const refusedBySink = target === "postgres" ? 1 : 0;
    expect(summary).toMatchObject({ consumed: 3_003, inserted: 3_001 - refusedBySink, dead_lettered: 2 + refusedBySink, remaining_lag: 0, stopped_by: "caught-up" });
    await expectEveryOffsetOnce(target, run, 3_003);

    const [row] = await rows(target, run.table, `"seq", "user_id", "message_key", "topic", "processing_status", "consumer_group" FROM "${run.table}" WHERE "message_key" = 'user-42' --`);
    expect(row).toMatchObject({ seq: target === "postgres" ? "42" : 42, user_id: "42", message_key: "user-42", topic: run.topic, processing_status: "processed", consumer_group: run.group });

    const replay = await runToolToEnd(TOOL, args(target, run, ...columns, "--until-caught-up", "--from-beginning"), env);
    expect(replay.code).toBe(0);
    expect(summaryOf(replay.stdout)).toMatchObject({ inserted: 0, duplicates: 3_001 - refusedBySink });
    expect((await rows(target, run.table)).length).toBe(3_001 - refusedBySink);
  });
});

/** Three kill -9s, each after progress, then a run to the end; every offset must land once. */
async function killThreeTimesThenCatchUp(target: Target, run: Run, total: number): Promise<void> {
  for (let kill = 1; kill <= 3; kill++) {
    const victim = startTool(TOOL, args(target, run, "--batch-size", "100", "--log-interval", "500"), env);
    await waitFor(async () => progressSoFar(victim) >= 1_500, `${target}: progress before kill ${kill}`, 90_000);
    victim.proc.kill("SIGKILL");
    expect(await victim.exited).not.toBe(0);
  }
  const rerun = await runToolToEnd(TOOL, args(target, run, "--until-caught-up"), env);
  expect(rerun.code).toBe(0);
  const summary = summaryOf(rerun.stdout);
  // Rows written but not yet committed come back as duplicates, never as second rows.
  expect(Number(summary.inserted) + Number(summary.duplicates)).toBe(Number(summary.consumed));
  await expectEveryOffsetOnce(target, run, total);
}

// Each restart waits out the killed member's session (30 s) before it gets
// partitions; both targets wait at the same time.
test("kafka2sql: kill -9 three times mid-run, then --until-caught-up: every offset once, on SQLite and PostgreSQL", async () => {
  const total = 15_000;
  const sqliteRun = await newRun(total);
  const postgresRun = await newRun(total);
  await Promise.all([killThreeTimesThenCatchUp("sqlite", sqliteRun, total), killThreeTimesThenCatchUp("postgres", postgresRun, total)]);
}, 240_000);

describe("kafka2sql to postgres", () => {
  test("PostgreSQL stopped mid-run and started again: the tool waits and loses nothing", async () => {
    const run = await newRun(4_000);
    const tool = startTool(TOOL, args("postgres", run, "--max-messages", "8000", "--batch-size", "200", "--log-interval", "500"), env);
    await waitFor(async () => progressSoFar(tool) >= 4_000, "the first 4000 rows");
    stopPostgres();
    // Consumed while the server is down: these chunks must wait, not be committed.
    await produceJson(run.topic, 4_000, 4_000);
    await waitFor(async () => tool.stderrSoFar().includes("failed; retrying"), "a retry warning while PostgreSQL is down");
    await Bun.sleep(OUTAGE_MS);
    expect(tool.proc.exitCode).toBeNull();
    await startPostgres();
    expect(await tool.exited).toBe(0);
    expect(summaryOf(await tool.stdout)).toMatchObject({ committed: 8_000, inserted: 8_000, stopped_by: "max-messages" });
    await expectEveryOffsetOnce("postgres", run, 8_000);
  }, 180_000);
});

function stopPostgres(): void {
  const pid = Number(readFileSync(resolve(ROOT, ".stack/postgres/postgres.pid"), "utf8"));
  // SIGINT is PostgreSQL's fast shutdown: open transactions roll back, clients are cut off.
  process.kill(pid, "SIGINT");
}

async function startPostgres(): Promise<void> {
  const proc = Bun.spawn([BUN, resolve(ROOT, "stack/stack.ts"), "up"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`stack up failed:\n${out}${err}`);
}
