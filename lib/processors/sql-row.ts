/**
 * Builds the SQL row for a Kafka record, in the column order of
 * lib/sql/table.ts: the record's metadata, its value, and the typed columns
 * taken from the value's JSON fields. Every value is text or null; the
 * database casts it to the column's type.
 *
 * A record that cannot become a row (invalid UTF-8, invalid JSON with
 * value format json, a field that does not fit its typed column) is a dead
 * letter with a reason naming the field.
 *
 * @example
 * const toRow = sqlRowProcessor({ table, consumerGroup: "g" });
 * toRow(record); // { kind: "write", item: ["3f2c…", "logins", "0", "42", "k", "{…}", "{}", "2026-…", "g", "2026-…", "processed", null, "u1"] }
 */
import { randomUUID } from "node:crypto";
import type { Outcome, Processor, SourceRecord } from "../engine/record.ts";
import type { ColumnType, TableSpec, TypedColumn } from "../sql/table.ts";
import { decodeHeaders } from "./kafka-document.ts";
import { errorMessage } from "../errors.ts";

export type SqlValue = string | null;
export type SqlRow = SqlValue[];

export interface SqlRowOptions {
  table: TableSpec;
  consumerGroup: string;
  now?: () => Date;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const INT32 = { min: -2147483648, max: 2147483647 };

export function sqlRowProcessor(options: SqlRowOptions): Processor<SqlRow> {
  const now = options.now ?? (() => new Date());
  return (record) => toRow(record, options, now().toISOString());
}

function toRow(record: SourceRecord, options: SqlRowOptions, processedAt: string): Outcome<SqlRow> {
  let key: string | null;
  let text: string | null;
  try {
    key = record.key === null ? null : utf8.decode(record.key);
  } catch {
    return { kind: "dead", reason: "invalid UTF-8 in the message key", stage: "parse" };
  }
  try {
    text = record.value === null ? null : utf8.decode(record.value);
  } catch {
    return { kind: "dead", reason: "invalid UTF-8 in the message value", stage: "parse" };
  }
  let parsed: unknown;
  if (text !== null && options.table.valueFormat === "json") {
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return { kind: "dead", reason: `invalid JSON: ${errorMessage(error)}`, stage: "parse" };
    }
  }
  const row: SqlRow = [
    randomUUID(),
    record.topic,
    String(record.partition),
    record.offset,
    key,
    text,
    JSON.stringify(decodeHeaders(record.headers)),
    new Date(Number(record.timestamp)).toISOString(),
    options.consumerGroup,
    processedAt,
    "processed",
    null,
  ];
  const fields = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  for (const column of options.table.typed) {
    const converted = columnValue(fields[column.field], column);
    if (typeof converted === "object" && converted !== null) return { kind: "dead", reason: converted.error, stage: "parse" };
    row.push(converted);
  }
  return { kind: "write", item: row };
}

/** A JSON value as the text of its column's type, or why it does not fit. */
export function columnValue(value: unknown, column: TypedColumn): SqlValue | { error: string } {
  if (value === undefined || value === null) return null;
  const misfit = (expected: string) => ({ error: `field ${column.field}: expected ${expected}, got ${describe(value)}` });
  switch (column.type as ColumnType) {
    case "text":
      return typeof value === "string" ? value : JSON.stringify(value);
    case "integer":
    case "bigint": {
      const text = typeof value === "number" && Number.isInteger(value) ? String(value) : typeof value === "string" && /^-?\d+$/.test(value.trim()) ? value.trim() : undefined;
      if (text === undefined) return misfit("an integer");
      const n = BigInt(text);
      const fits = column.type === "integer" ? n >= INT32.min && n <= INT32.max : n >= -(2n ** 63n) && n < 2n ** 63n;
      return fits ? text : misfit(`an integer within ${column.type} range`);
    }
    case "double": {
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      return Number.isFinite(n) ? String(n) : misfit("a number");
    }
    case "boolean":
      if (typeof value === "boolean") return value ? "1" : "0";
      if (value === "true" || value === "false") return value === "true" ? "1" : "0";
      return misfit("true or false");
    case "timestamp": {
      // Numbers are epoch milliseconds, as Kafka and JavaScript count time.
      const date = typeof value === "number" ? new Date(value) : typeof value === "string" ? new Date(value) : undefined;
      return date && !Number.isNaN(date.getTime()) ? date.toISOString() : misfit("an ISO-8601 date or epoch milliseconds");
    }
    case "json":
      return JSON.stringify(value);
  }
}

function describe(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

