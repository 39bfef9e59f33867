/**
 * A PostgreSQL table as a pipeline sink, through the `postgres` client
 * (porsager/postgres), which runs under Bun, Deno and Node.
 *
 * A chunk is one transaction: `COPY` into a session's temporary staging
 * table of text columns (emptied at commit), then `INSERT … SELECT … FROM`
 * it `ON CONFLICT DO NOTHING`, casting each column to its type. COPY is
 * PostgreSQL's cheapest load path for the client and the server alike. A
 * redelivered message hits the unique (topic, partition, offset) and counts
 * as a duplicate. Lost connections and a restarting server are transient
 * (the engine retries the chunk). When the chunk fails over a row the server
 * refuses (bad JSON for JSONB, a NUL byte in text), it goes again as one
 * statement, `INSERT … SELECT … FROM unnest($1::text[], …)`, halved until
 * the refused rows are alone and dead-lettered.
 *
 * @example
 * const sink = await openPostgresSink(section, tableSpec("processed_messages", [], "json"));
 * const { written, duplicates, rejected } = await sink.write(rows);
 * await sink.close();
 */
import postgres, { type Sql } from "postgres";
import type { PostgresSection } from "../config/sql-section.ts";
import { describeSqlTarget } from "../config/sql-section.ts";
import { TransientSinkError, type Sink, type SinkResult } from "../engine/sink.ts";
import type { SqlRow } from "../processors/sql-row.ts";
import { columnNames, columnTypes, createTableSql, missingColumns, quoteIdent, type TableSpec } from "../sql/table.ts";
import { copyText } from "../sql/copy-text.ts";
import { errorMessage } from "../errors.ts";

/** Connection-level failures the client reports without a SQLSTATE. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);
/** SQLSTATEs worth waiting out: server shutting down or starting, out of resources, conflicts. */
const TRANSIENT_STATES = new Set(["57P01", "57P02", "57P03", "40001", "40P01", "55P03"]);

export class PostgresSchemaError extends Error {
  override name = "PostgresSchemaError";
}

/**
 * The client never ends a COPY whose connection dropped, or which the server
 * refused, after the last data was sent; the chunk goes the other way then.
 */
class CopyStalledError extends Error {
  override name = "CopyStalledError";
}
const COPY_TIMEOUT_MS = 30_000;

export interface PostgresSinkOptions {
  /** Connections in the pool; the engine keeps up to two chunks in flight. */
  maxConnections?: number;
}

/** Connects, creates the table when missing, and checks it has every column. */
export async function openPostgresSink(section: PostgresSection, table: TableSpec, options: PostgresSinkOptions = {}): Promise<Sink<SqlRow>> {
  const sql = connectPostgres(section, options.maxConnections ?? 2);
  try {
    await sql.unsafe(createTableSql(table, "postgres"));
    const [schema, name] = table.name.includes(".") ? table.name.split(".") : [undefined, table.name];
    const existing = await sql<{ column_name: string }[]>`
      SELECT column_name FROM information_schema.columns
      WHERE table_name = ${name!} AND table_schema = ${schema ?? sql`current_schema()`}`;
    const missing = missingColumns(
      table,
      existing.map((r) => r.column_name),
    );
    if (missing.length) {
      throw new PostgresSchemaError(`${describeSqlTarget(section)}: table ${table.name} exists without column(s) ${missing.join(", ")}`);
    }
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw error;
  }
  const statement = insertStatement(table);
  const staging = stagingStatements(table);
  const insertRows = async (rows: SqlRow[]): Promise<SinkResult> => {
    try {
      // Prepared once per connection: the text is the same for every chunk.
      const result = await sql.unsafe(statement.text, transpose(rows, statement.columns), { prepare: true });
      return { written: result.count, duplicates: rows.length - result.count, rejected: [] };
    } catch (error) {
      if (isTransient(error)) throw new TransientSinkError(`postgres: ${errorMessage(error)}`, { cause: error });
      if (isAboutARow(error)) return findRefusedRows(rows, insertRows, error);
      throw new Error(`postgres: ${errorMessage(error)}`, { cause: error });
    }
  };
  const write = async (rows: SqlRow[]): Promise<SinkResult> => {
    // PostgreSQL text never holds NUL, and the client loses an error the
    // server sends after the end of COPY data: such a chunk skips COPY.
    if (rows.some((row) => row.some((value) => value?.includes("\0")))) return insertRows(rows);
    try {
      const written = await sql.begin(async (tx) => {
        await tx.unsafe(staging.create);
        const stream = await tx.unsafe(staging.copy).writable();
        await new Promise<void>((done, fail) => {
          const timer = setTimeout(() => fail(new CopyStalledError(`COPY of ${rows.length} rows did not finish in ${COPY_TIMEOUT_MS / 1000} s`)), COPY_TIMEOUT_MS);
          stream.on("error", (error) => (clearTimeout(timer), fail(error)));
          stream.on("finish", () => (clearTimeout(timer), done()));
          stream.end(copyText(rows));
        });
        return (await tx.unsafe(staging.insert)).count;
      });
      return { written, duplicates: rows.length - written, rejected: [] };
    } catch (error) {
      if (isTransient(error)) throw new TransientSinkError(`postgres: ${errorMessage(error)}`, { cause: error });
      // Rolled back as a whole: the one-statement path finds the refused rows,
      // and reports a lost connection as such.
      if (isAboutARow(error) || error instanceof CopyStalledError) return insertRows(rows);
      throw new Error(`postgres: ${errorMessage(error)}`, { cause: error });
    }
  };
  return {
    name: `${describeSqlTarget(section)} ${table.name}`,
    write,
    close: () => sql.end({ timeout: 5 }),
  };
}

export function connectPostgres(section: PostgresSection, max: number): Sql {
  return postgres({
    host: section.host,
    port: section.port,
    user: section.user,
    password: section.password,
    database: section.database,
    ssl: section.ssl ? "require" : false,
    max,
    connect_timeout: 10,
    onnotice: () => {},
  });
}


/** The chunk insert: every column arrives as text[] and is cast to its type. */
export function insertStatement(table: TableSpec): { text: string; columns: number } {
  const names = columnNames(table);
  const { aliases, select } = castFromText(table);
  const text =
    `INSERT INTO ${quoteIdent(table.name)} (${names.map(quoteIdent).join(", ")}) ` +
    `SELECT ${select.join(", ")} FROM unnest(${names.map((_, i) => `$${i + 1}::text[]`).join(", ")}) AS u(${aliases.join(", ")}) ` +
    "ON CONFLICT DO NOTHING";
  return { text, columns: names.length };
}

/** Text columns c0, c1 … and each cast to its column's type. */
function castFromText(table: TableSpec): { aliases: string[]; select: string[] } {
  const types = columnTypes(table, "postgres");
  const aliases = types.map((_, i) => `c${i}`);
  const select = aliases.map((alias, i) => (types[i] === "TEXT" || types[i]!.startsWith("VARCHAR") ? alias : `${alias}::${types[i]}`));
  return { aliases, select };
}

/** The staging table (per session, emptied at each commit), the COPY into it, and the insert from it. */
export function stagingStatements(table: TableSpec): { create: string; copy: string; insert: string } {
  const names = columnNames(table);
  const { aliases, select } = castFromText(table);
  // Named by its width: a session's staging table must fit the rows copied into it.
  const stage = `kt_staging_${names.length}`;
  return {
    create: `CREATE TEMPORARY TABLE IF NOT EXISTS ${stage} (${aliases.map((a) => `${a} TEXT`).join(", ")}) ON COMMIT DELETE ROWS`,
    copy: `COPY ${stage} FROM STDIN`,
    insert: `INSERT INTO ${quoteIdent(table.name)} (${names.map(quoteIdent).join(", ")}) SELECT ${select.join(", ")} FROM ${stage} ON CONFLICT DO NOTHING`,
  };
}

function transpose(rows: SqlRow[], columns: number): (string | null)[][] {
  const arrays: (string | null)[][] = Array.from({ length: columns }, () => new Array(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < columns; c++) arrays[c]![r] = row[c] ?? null;
  }
  return arrays;
}

function isTransient(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? "");
  return CONNECTION_CODES.has(code) || TRANSIENT_STATES.has(code) || code.startsWith("08") || code.startsWith("53");
}

/** Data exceptions (22xxx), integrity violations (23xxx) and a value over a limit (54000) are about a row. */
function isAboutARow(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? "");
  return code.startsWith("22") || code.startsWith("23") || code === "54000";
}

/** Halves the chunk until the refused rows are alone; the others are written. */
async function findRefusedRows(rows: SqlRow[], write: (rows: SqlRow[]) => Promise<SinkResult>, error: unknown): Promise<SinkResult> {
  if (rows.length === 1) {
    return { written: 0, duplicates: 0, rejected: [{ index: 0, reason: `postgres ${(error as { code?: string }).code}: ${errorMessage(error)}` }] };
  }
  const middle = Math.ceil(rows.length / 2);
  const first = await write(rows.slice(0, middle));
  const second = await write(rows.slice(middle));
  return {
    written: first.written + second.written,
    duplicates: first.duplicates + second.duplicates,
    rejected: [...first.rejected, ...second.rejected.map((r) => ({ ...r, index: r.index + middle }))],
  };
}
