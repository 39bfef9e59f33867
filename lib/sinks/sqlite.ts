/**
 * A SQLite table as a pipeline sink, through `node:sqlite`, which Bun
 * (1.2+), Deno (2.2+) and Node (22.5+) all provide, so the same file runs
 * under each. Each chunk is one `BEGIN IMMEDIATE … COMMIT` transaction of
 * `INSERT … ON CONFLICT DO NOTHING` rows: a redelivered message hits the
 * unique (topic, partition, offset) and counts as a duplicate.
 *
 * The database runs in WAL mode with synchronous=FULL, so a committed
 * chunk survives a crash of the process or the machine before its offsets
 * are committed to Kafka.
 *
 * @example
 * const sink = openSqliteSink("data/landing.db", tableSpec("processed_messages", [], "json"));
 * const { written, duplicates, rejected } = await sink.write(rows);
 * await sink.close();
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { TransientSinkError, type Sink, type SinkResult } from "../engine/sink.ts";
import type { SqlRow } from "../processors/sql-row.ts";
import { columnNames, createTableSql, missingColumns, quoteIdent, type TableSpec } from "../sql/table.ts";
import { errorMessage } from "../errors.ts";

// SQLite result codes (primary; extended codes keep them in the low byte).
const BUSY = 5;
const LOCKED = 6;
/** About one row (too big, a constraint, a type mismatch): that row is rejected, the rest go on. */
const ROW_ERRORS = new Set([18, 19, 20, 25]);

export class SqliteSchemaError extends Error {
  override name = "SqliteSchemaError";
}

export function openSqliteSink(path: string, table: TableSpec): Sink<SqlRow> {
  if (table.name.includes(".")) throw new SqliteSchemaError(`sqlite table '${table.name}': a schema prefix is not supported`);
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA busy_timeout = 10000");
  db.exec(createTableSql(table, "sqlite"));
  const existing = (db.prepare("SELECT name FROM pragma_table_info(?)").all(table.name) as { name: string }[]).map((r) => r.name);
  const missing = missingColumns(table, existing);
  if (missing.length) {
    db.close();
    throw new SqliteSchemaError(`sqlite ${path}: table ${table.name} exists without column(s) ${missing.join(", ")}`);
  }
  const names = columnNames(table);
  const insert = db.prepare(
    `INSERT INTO ${quoteIdent(table.name)} (${names.map(quoteIdent).join(", ")}) VALUES (${names.map(() => "?").join(", ")}) ON CONFLICT DO NOTHING`,
  );
  return {
    name: `sqlite ${path} ${table.name}`,
    write: async (rows) => insertChunk(db, insert, rows),
    close: async () => db.close(),
  };
}

function insertChunk(db: DatabaseSync, insert: ReturnType<DatabaseSync["prepare"]>, rows: SqlRow[]): SinkResult {
  const result: SinkResult = { written: 0, duplicates: 0, rejected: [] };
  try {
    db.exec("BEGIN IMMEDIATE");
  } catch (error) {
    throw classify(error, "cannot start a transaction");
  }
  try {
    for (let index = 0; index < rows.length; index++) {
      try {
        if (Number(insert.run(...rows[index]!).changes) > 0) result.written++;
        else result.duplicates++;
      } catch (error) {
        // A failed statement undoes only itself; the transaction goes on.
        if (!ROW_ERRORS.has(sqliteCode(error) & 0xff)) throw error;
        result.rejected.push({ index, reason: `sqlite: ${errorMessage(error)}` });
      }
    }
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw classify(error, "insert failed");
  }
}

function sqliteCode(error: unknown): number {
  return Number((error as { errcode?: number }).errcode ?? -1);
}

/** Another writer holding the lock is worth waiting out; anything else (disk full, read-only, corrupt) is not. */
function classify(error: unknown, what: string): Error {
  const code = sqliteCode(error) & 0xff;
  const message = `sqlite ${what}: ${errorMessage(error)}`;
  if (code === BUSY || code === LOCKED) return new TransientSinkError(message, { cause: error });
  return new Error(message, { cause: error });
}
