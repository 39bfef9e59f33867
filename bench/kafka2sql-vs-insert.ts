/**
 * kafka2sql against the raw insert limit of each SQL target, in one run on
 * the local stack.
 *
 * 1. Produces N JSON messages of about 1 KB to a fresh 3-partition topic.
 * 2. Raw limit, no Kafka: builds exactly the rows kafka2sql would build and
 *    loads them into a fresh table of the same layout (same unique index),
 *    batch by batch, one transaction per batch:
 *    - SQLite: a multi-row `INSERT … VALUES (…), (…)` per batch;
 *    - PostgreSQL: `COPY … FROM STDIN` per batch, 2 batches in flight (as
 *      many as kafka2sql keeps); COPY is PostgreSQL's fastest load path.
 * 3. kafka2sql --until-caught-up from the topic into another fresh table.
 * Limit and tool alternate in order over --rounds rounds; each rate is the
 * mean over the rounds. Prints the rates and the ratio (target: 0.9x or better).
 *
 * Usage: bun bench/kafka2sql-vs-insert.ts [--target sqlite|postgres|both] [--messages 100000] [--batch-size 500] [--rounds 2]
 * Needs the local stack (npm run stack:up); honours the KT_* port overrides.
 */
import { Kafka, logLevel } from "kafkajs";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { loginEvent, loginRecord, produceLoginEvents } from "./lib/login-events.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { loadConfigSource } from "../lib/config/source.ts";
import { sqlSection, type PostgresSection } from "../lib/config/sql-section.ts";
import { sqlRowProcessor, type SqlRow } from "../lib/processors/sql-row.ts";
import { connectPostgres } from "../lib/sinks/postgres.ts";
import { copyText } from "../lib/sql/copy-text.ts";
import { columnNames, createTableSql, quoteIdent, tableSpec, type Dialect, type TableSpec } from "../lib/sql/table.ts";

const ROOT = resolve(import.meta.dir, "..");
const CONFIG = resolve(ROOT, "config/local-stack.ini");
const { values } = parseArgs({
  options: {
    target: { type: "string", default: "both" },
    messages: { type: "string", default: "100000" },
    "batch-size": { type: "string", default: "500" },
    rounds: { type: "string", default: "2" },
  },
});
const MESSAGES = Number(values.messages);
const BATCH = Number(values["batch-size"]);
const ROUNDS = Number(values.rounds);
const TARGETS: Dialect[] = values.target === "both" ? ["sqlite", "postgres"] : [values.target as Dialect];
const PARTITIONS = 3;
const run = Date.now().toString(36);
const topic = `bench-k2sql-${run}`;
const SQLITE_FILE = resolve(ROOT, `.stack/sqlite/bench-${run}.db`);
// A fresh checkout's stack has no sqlite folder until a SQLite tool made one.
mkdirSync(dirname(SQLITE_FILE), { recursive: true });

const config = loadConfigSource(CONFIG);
const kafkaConfig = kafkaSection(config, "local_kafka");
const postgresConfig = sqlSection(config, "postgres") as PostgresSection;

/** The rows kafka2sql makes from the same messages. */
function sameRows(table: TableSpec): SqlRow[] {
  const toRow = sqlRowProcessor({ table, consumerGroup: "bench" });
  const rows: SqlRow[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const record = loginRecord(topic, i, PARTITIONS);
    const outcome = toRow(record);
    if (outcome.kind === "write") rows.push(outcome.item);
  }
  return rows;
}

/** Seconds for multi-row INSERTs of every row into a fresh SQLite table, one transaction per batch. */
function sqliteLimit(rows: SqlRow[], table: TableSpec): number {
  const db = new DatabaseSync(SQLITE_FILE);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec(createTableSql(table, "sqlite"));
  const names = columnNames(table);
  const placeholders = `(${names.map(() => "?").join(", ")})`;
  const insert = (n: number) => db.prepare(`INSERT INTO ${quoteIdent(table.name)} (${names.map(quoteIdent).join(", ")}) VALUES ${Array(n).fill(placeholders).join(", ")}`);
  const full = insert(BATCH);
  const started = performance.now();
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    db.exec("BEGIN IMMEDIATE");
    (batch.length === BATCH ? full : insert(batch.length)).run(...batch.flat());
    db.exec("COMMIT");
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return seconds;
}

/** Seconds for COPY of every row into a fresh PostgreSQL table, one COPY per batch, 2 in flight. */
async function postgresLimit(rows: SqlRow[], table: TableSpec): Promise<number> {
  const sql = connectPostgres(postgresConfig, 2);
  await sql.unsafe(createTableSql(table, "postgres"));
  const columns = columnNames(table).map(quoteIdent).join(", ");
  let next = 0;
  const writer = async () => {
    for (let i = next; i < rows.length; i = next) {
      next += BATCH;
      const stream = await sql.unsafe(`COPY ${quoteIdent(table.name)} (${columns}) FROM STDIN`).writable();
      await new Promise<void>((done, fail) => {
        stream.on("error", fail);
        stream.on("finish", done);
        stream.end(copyText(rows.slice(i, i + BATCH)));
      });
    }
  };
  const started = performance.now();
  await Promise.all([writer(), writer()]);
  const seconds = (performance.now() - started) / 1000;
  await sql.unsafe(`DROP TABLE ${quoteIdent(table.name)}`);
  await sql.end();
  return seconds;
}

async function kafka2sql(target: Dialect, table: string): Promise<{ rate: number; wallSeconds: number }> {
  const started = performance.now();
  const proc = Bun.spawn(
    [process.execPath, "tools/kafka2sql.ts", "--config", CONFIG, "--sql", target, "--topic", topic, "--group", `${topic}-${target}-${table}`,
      "--table", table, "--batch-size", String(BATCH), "--log-interval", "50000", "--until-caught-up", "--json", "--log-dir", "none"],
    { cwd: ROOT, stdout: "pipe", stderr: "inherit", env: { ...process.env, KT_SQLITE_PATH: SQLITE_FILE } },
  );
  const stdout = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error("kafka2sql failed");
  const summary = JSON.parse(stdout.trim().split("\n").pop()!);
  if (summary.inserted !== MESSAGES) throw new Error(`kafka2sql inserted ${summary.inserted} of ${MESSAGES} rows`);
  return { rate: summary.messages_per_sec, wallSeconds: (performance.now() - started) / 1000 };
}

async function dropPipelineTable(target: Dialect, table: string): Promise<void> {
  if (target === "sqlite") {
    const db = new DatabaseSync(SQLITE_FILE);
    db.exec(`DROP TABLE ${quoteIdent(table)}`);
    db.close();
    return;
  }
  const sql = connectPostgres(postgresConfig, 1);
  await sql.unsafe(`DROP TABLE ${quoteIdent(table)}`);
  await sql.end();
}

const kafka = new Kafka({ clientId: "bench", brokers: kafkaConfig.brokers, logLevel: logLevel.NOTHING });
console.log(`producing ${MESSAGES} messages of ~${loginEvent(0).length} bytes to ${topic} ...`);
await produceLoginEvents(kafka, topic, MESSAGES, PARTITIONS);

const mean = (list: number[]) => list.reduce((a, b) => a + b, 0) / list.length;
const results: Record<string, unknown>[] = [];
for (const target of TARGETS) {
  const limitRates: number[] = [];
  const toolRates: number[] = [];
  const wallRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ["limit", "tool"] : ["tool", "limit"];
    for (const step of order) {
      const table = `${step}_${round}_${run}`;
      console.log(`${target} round ${round + 1}/${ROUNDS}: ${step === "limit" ? "raw limit" : "kafka2sql"} ...`);
      if (step === "limit") {
        const spec = tableSpec(table, [], "json");
        const rows = sameRows(spec);
        const seconds = target === "sqlite" ? sqliteLimit(rows, spec) : await postgresLimit(rows, spec);
        limitRates.push(MESSAGES / seconds);
        if (target === "sqlite") await dropPipelineTable(target, table);
      } else {
        const { rate, wallSeconds } = await kafka2sql(target, table);
        toolRates.push(rate);
        wallRates.push(MESSAGES / wallSeconds);
        await dropPipelineTable(target, table);
      }
    }
  }
  const result = {
    target,
    reference: target === "sqlite" ? "multi-row INSERT per batch" : "COPY per batch, 2 in flight",
    messages: MESSAGES,
    rounds: ROUNDS,
    batch_size: BATCH,
    value_bytes: loginEvent(0).length,
    raw_limit_msgs_per_sec: Math.round(mean(limitRates)),
    kafka2sql_msgs_per_sec: Math.round(mean(toolRates)),
    kafka2sql_wall_msgs_per_sec_incl_startup: Math.round(mean(wallRates)),
    ratio: Number((mean(toolRates) / mean(limitRates)).toFixed(3)),
    ratio_incl_startup: Number((mean(wallRates) / mean(limitRates)).toFixed(3)),
  };
  results.push(result);
  console.log(`
${target}: mean over ${ROUNDS} rounds of ${MESSAGES} messages
raw limit (${result.reference})  ${result.raw_limit_msgs_per_sec} msg/s
kafka2sql (run, from its summary)     ${result.kafka2sql_msgs_per_sec} msg/s
kafka2sql (wall clock, with start)    ${result.kafka2sql_wall_msgs_per_sec_incl_startup} msg/s
ratio                                 ${result.ratio}x  (${result.ratio_incl_startup}x with start-up)  target >= 0.9x`);
}

mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
writeFileSync(resolve(ROOT, `bench/results/kafka2sql-${run}.json`), JSON.stringify(results, null, 2));
for (const suffix of ["", "-wal", "-shm"]) rmSync(SQLITE_FILE + suffix, { force: true });
const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
await admin.disconnect();
