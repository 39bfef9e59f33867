/**
 * The table kafka2sql lands messages in: the `processed_messages` layout of
 * the scripts it replaces, plus typed columns mapped from JSON fields with
 * --columns, and the DDL for each dialect.
 *
 * Every value travels as text (or NULL) and is cast by the database, so one
 * row shape serves SQLite and PostgreSQL alike.
 *
 * @example
 * const table = tableSpec("processed_messages", parseColumns("user_id:text,amount:double"), "json");
 * createTableSql(table, "postgres"); // CREATE TABLE IF NOT EXISTS "processed_messages" (... "amount" DOUBLE PRECISION ...)
 */
import { UsageError } from "../errors.ts";

export type Dialect = "sqlite" | "postgres";
export type ColumnType = "text" | "integer" | "bigint" | "double" | "boolean" | "timestamp" | "json";
export const COLUMN_TYPES: readonly ColumnType[] = ["text", "integer", "bigint", "double", "boolean", "timestamp", "json"];

/** A JSON field of the message value copied into its own typed column. */
export interface TypedColumn {
  /** Top-level field of the JSON value; also the column name. */
  field: string;
  type: ColumnType;
}

export interface TableSpec {
  /** `name` or `schema.name`. */
  name: string;
  typed: TypedColumn[];
  /** json: message_value is JSON (JSONB on PostgreSQL); text: any UTF-8 text. */
  valueFormat: "json" | "text";
}

/** The columns every row has, in order (the seed's layout, plus the Kafka timestamp). */
export const STANDARD_COLUMNS = [
  "id",
  "topic",
  "partition",
  "offset",
  "message_key",
  "message_value",
  "message_headers",
  "message_timestamp",
  "consumer_group",
  "processing_timestamp",
  "processing_status",
  "error_message",
] as const;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses `--columns user_id:text,timestamp:bigint,...`. */
export function parseColumns(spec: string | undefined): TypedColumn[] {
  if (spec === undefined || spec.trim() === "") return [];
  const seen = new Set<string>();
  return spec.split(",").map((part) => {
    const [field, type, extra] = part.trim().split(":").map((s) => s.trim());
    if (!field || !type || extra !== undefined) {
      throw new UsageError(`--columns: '${part.trim()}' is not field:type (types: ${COLUMN_TYPES.join(", ")})`);
    }
    if (!IDENTIFIER.test(field)) throw new UsageError(`--columns: '${field}' is not a plain column name ([A-Za-z_][A-Za-z0-9_]*)`);
    const lower = field.toLowerCase();
    if ((STANDARD_COLUMNS as readonly string[]).includes(lower)) {
      throw new UsageError(`--columns: '${field}' is one of the standard columns (${STANDARD_COLUMNS.join(", ")})`);
    }
    if (seen.has(lower)) throw new UsageError(`--columns: '${field}' appears twice`);
    seen.add(lower);
    const columnType = COLUMN_TYPES.find((t) => t === type.toLowerCase());
    if (!columnType) throw new UsageError(`--columns: type '${type}' of '${field}' is not one of ${COLUMN_TYPES.join(", ")}`);
    return { field, type: columnType };
  });
}

/** Checks the table name and builds the spec. */
export function tableSpec(name: string, typed: TypedColumn[], valueFormat: "json" | "text"): TableSpec {
  const parts = name.split(".");
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw new UsageError(`--table: '${name}' is not a plain table name (name or schema.name, [A-Za-z_][A-Za-z0-9_]*)`);
  }
  return { name, typed, valueFormat };
}

export function columnNames(table: TableSpec): string[] {
  return [...STANDARD_COLUMNS, ...table.typed.map((c) => c.field)];
}

export function quoteIdent(name: string): string {
  return name
    .split(".")
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join(".");
}

/** The SQL type of each column, in {@link columnNames} order. */
export function columnTypes(table: TableSpec, dialect: Dialect): string[] {
  const json = dialect === "postgres" ? "JSONB" : "TEXT";
  const timestamp = dialect === "postgres" ? "TIMESTAMPTZ" : "TEXT";
  const standard = [
    dialect === "postgres" ? "VARCHAR(36)" : "TEXT",
    "TEXT",
    "INTEGER",
    "BIGINT",
    "TEXT",
    table.valueFormat === "json" ? json : "TEXT",
    json,
    timestamp,
    "TEXT",
    timestamp,
    "TEXT",
    "TEXT",
  ];
  return [...standard, ...table.typed.map((c) => sqlType(c.type, dialect))];
}

function sqlType(type: ColumnType, dialect: Dialect): string {
  const postgres = dialect === "postgres";
  switch (type) {
    case "text":
      return "TEXT";
    case "integer":
      return "INTEGER";
    case "bigint":
      return "BIGINT";
    case "double":
      return postgres ? "DOUBLE PRECISION" : "REAL";
    case "boolean":
      return postgres ? "BOOLEAN" : "INTEGER";
    case "timestamp":
      return postgres ? "TIMESTAMPTZ" : "TEXT";
    case "json":
      return postgres ? "JSONB" : "TEXT";
  }
}

const NOT_NULL = new Set(["topic", "partition", "offset", "consumer_group", "processing_timestamp", "processing_status"]);

/**
 * CREATE TABLE IF NOT EXISTS with the unique (topic, partition, offset) that
 * turns a redelivered message into a skipped duplicate instead of a second row.
 */
export function createTableSql(table: TableSpec, dialect: Dialect): string {
  const names = columnNames(table);
  const types = columnTypes(table, dialect);
  const columns = names.map((name, i) => {
    const constraint = name === "id" ? " PRIMARY KEY" : NOT_NULL.has(name) ? " NOT NULL" : "";
    return `  ${quoteIdent(name)} ${types[i]}${constraint}`;
  });
  columns.push(`  UNIQUE (${["topic", "partition", "offset"].map(quoteIdent).join(", ")})`);
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(table.name)} (\n${columns.join(",\n")}\n)`;
}

/** Columns the target table lacks, given the names it has (case-insensitive). */
export function missingColumns(table: TableSpec, existing: string[]): string[] {
  const have = new Set(existing.map((c) => c.toLowerCase()));
  return columnNames(table).filter((c) => !have.has(c.toLowerCase()));
}
