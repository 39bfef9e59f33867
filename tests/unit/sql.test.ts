import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqlSection } from "../../lib/config/sql-section.ts";
import { ConfigError, UsageError } from "../../lib/errors.ts";
import { columnValue, sqlRowProcessor } from "../../lib/processors/sql-row.ts";
import { insertStatement, stagingStatements } from "../../lib/sinks/postgres.ts";
import { copyText } from "../../lib/sql/copy-text.ts";
import { openSqliteSink, SqliteSchemaError } from "../../lib/sinks/sqlite.ts";
import { openSqliteWorkerSink } from "../../lib/sinks/sqlite-worker.ts";
import { createTableSql, missingColumns, parseColumns, tableSpec } from "../../lib/sql/table.ts";
import type { SourceRecord } from "../../lib/engine/record.ts";

const config = (sections: Record<string, Record<string, string>>, env: Record<string, string> = {}) => ({ path: "db.ini", sections, env });

function record(value: string | Buffer | null, extra: Partial<SourceRecord> = {}): SourceRecord {
  const buffer = typeof value === "string" ? Buffer.from(value) : value;
  return { topic: "t", partition: 1, offset: "42", key: Buffer.from("k"), value: buffer, headers: { h: Buffer.from("v") }, timestamp: "1700000000000", size: 10, ...extra };
}

describe("sqlSection", () => {
  test("path makes a sqlite section, anything else postgres with defaults", () => {
    expect(sqlSection(config({ lite: { path: "x.db" } }), "lite")).toEqual({ kind: "sqlite", name: "lite", path: "x.db" });
    expect(sqlSection(config({ pg: { user: "u", database: "d" } }), "pg")).toMatchObject({ kind: "postgres", host: "127.0.0.1", port: 5432, user: "u", database: "d", ssl: false });
  });

  test("a url supplies what the keys do not, and keys win", () => {
    const pg = sqlSection(config({ pg: { url: "postgres://me:s%40cret@db.example:6543/sales?sslmode=require", database: "other" } }), "pg");
    expect(pg).toMatchObject({ kind: "postgres", host: "db.example", port: 6543, user: "me", password: "s@cret", database: "other", ssl: true });
  });

  test("env overrides and an explicit type", () => {
    const pg = sqlSection(config({ pg: { type: "postgres", port: "5432" } }, { KT_PG_PORT: "6000" }), "pg");
    expect(pg).toMatchObject({ kind: "postgres", port: 6000 });
  });

  test("wrong keys name the file, section and key", () => {
    expect(() => sqlSection(config({ lite: { path: "x.db", host: "h" } }), "lite")).toThrow(new ConfigError("db.ini: [lite] host: not a sqlite key (sqlite keys: type, path)"));
    expect(() => sqlSection(config({ pg: { type: "mssql" } }), "pg")).toThrow("db.ini: [pg] type: expected sqlite or postgres");
    expect(() => sqlSection(config({ pg: { port: "x" } }), "pg")).toThrow("db.ini: [pg] port:");
    expect(() => sqlSection(config({ pg: { type: "sqlite" } }), "pg")).toThrow("db.ini: [pg] path: is required");
  });

  test("a bad password is never echoed", () => {
    try {
      sqlSection(config({ pg: { url: "not a url", password: "hunter2" } }), "pg");
    } catch (error) {
      expect(String(error)).not.toContain("hunter2");
    }
  });
});

describe("table", () => {
  test("parses --columns and refuses bad specs with the flag's name", () => {
    expect(parseColumns("user_id:text, amount:double")).toEqual([
      { field: "user_id", type: "text" },
      { field: "amount", type: "double" },
    ]);
    expect(parseColumns(undefined)).toEqual([]);
    expect(() => parseColumns("a")).toThrow(UsageError);
    expect(() => parseColumns("a:money")).toThrow("--columns: type 'money' of 'a'");
    expect(() => parseColumns("offset:bigint")).toThrow("standard columns");
    expect(() => parseColumns("a:text,A:text")).toThrow("twice");
    expect(() => parseColumns("a-b:text")).toThrow("not a plain column name");
    expect(() => tableSpec("x; drop table y", [], "json")).toThrow("--table");
  });

  test("DDL: seed columns, unique on (topic, partition, offset), JSONB on PostgreSQL", () => {
    const table = tableSpec("landing.events", parseColumns("amount:double,ok:boolean"), "json");
    const pg = createTableSql(table, "postgres");
    expect(pg).toContain('CREATE TABLE IF NOT EXISTS "landing"."events"');
    expect(pg).toContain('"message_value" JSONB');
    expect(pg).toContain('"amount" DOUBLE PRECISION');
    expect(pg).toContain('UNIQUE ("topic", "partition", "offset")');
    const lite = createTableSql(tableSpec("events", [], "text"), "sqlite");
    expect(lite).toContain('"message_value" TEXT');
    expect(lite).toContain('"id" TEXT PRIMARY KEY');
    expect(missingColumns(table, ["ID", "topic"])).toContain("amount");
  });

  test("the PostgreSQL insert takes one array per column whatever the chunk size", () => {
    const statement = insertStatement(tableSpec("t", parseColumns("n:bigint"), "json"));
    expect(statement.columns).toBe(13);
    expect(statement.text).toContain("unnest($1::text[]");
    expect(statement.text).toContain("$13::text[]");
    expect(statement.text).toContain("c12::BIGINT");
    expect(statement.text).toEndWith("ON CONFLICT DO NOTHING");
  });

  test("the PostgreSQL chunk path: COPY into a text staging table, then a cast insert from it", () => {
    const staging = stagingStatements(tableSpec("t", parseColumns("n:bigint"), "json"));
    expect(staging.create).toBe(`CREATE TEMPORARY TABLE IF NOT EXISTS kt_staging_13 (${Array.from({ length: 13 }, (_, i) => `c${i} TEXT`).join(", ")}) ON COMMIT DELETE ROWS`);
    expect(staging.copy).toBe("COPY kt_staging_13 FROM STDIN");
    expect(staging.insert).toContain("c5::JSONB");
    expect(staging.insert).toContain("c12::BIGINT FROM kt_staging_13 ON CONFLICT DO NOTHING");
  });

  test("COPY text escapes backslash, tab, newline and carriage return; NULL is \\N", () => {
    expect(copyText([["a", null, "b\tc\\d"], ["x\ny\rz", "", "plain"]])).toBe("a\t\\N\tb\\tc\\\\d\nx\\ny\\rz\t\tplain\n");
  });
});

describe("sqlRowProcessor", () => {
  const table = tableSpec("t", parseColumns("user:text,n:bigint,x:double,ok:boolean,at:timestamp,doc:json"), "json");
  const toRow = sqlRowProcessor({ table, consumerGroup: "g", now: () => new Date("2026-01-01T00:00:00Z") });

  test("metadata, value and typed columns, all as text", () => {
    const outcome = toRow(record(JSON.stringify({ user: "u1", n: "12", x: 1.5, ok: true, at: 0, doc: { a: [1] } })));
    expect(outcome.kind).toBe("write");
    if (outcome.kind !== "write") return;
    const [id, ...rest] = outcome.item;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(rest).toEqual([
      "t",
      "1",
      "42",
      "k",
      JSON.stringify({ user: "u1", n: "12", x: 1.5, ok: true, at: 0, doc: { a: [1] } }),
      '{"h":"v"}',
      "2023-11-14T22:13:20.000Z",
      "g",
      "2026-01-01T00:00:00.000Z",
      "processed",
      null,
      "u1",
      "12",
      "1.5",
      "1",
      "1970-01-01T00:00:00.000Z",
      '{"a":[1]}',
    ]);
  });

  test("missing fields are NULL; non-objects leave typed columns NULL", () => {
    const outcome = toRow(record("[1,2]"));
    expect(outcome.kind === "write" && outcome.item.slice(12)).toEqual([null, null, null, null, null, null]);
    const tombstone = toRow(record(null));
    expect(tombstone.kind === "write" && tombstone.item[5]).toBeNull();
  });

  test("bad input is a dead letter naming the reason", () => {
    expect(toRow(record("{not json"))).toMatchObject({ kind: "dead", stage: "parse", reason: expect.stringContaining("invalid JSON") });
    expect(toRow(record(Buffer.from([0xc3, 0x28])))).toMatchObject({ kind: "dead", reason: "invalid UTF-8 in the message value" });
    expect(toRow(record(JSON.stringify({ n: "twelve" })))).toMatchObject({ kind: "dead", reason: 'field n: expected an integer, got "twelve"' });
  });

  test("column conversions and their limits", () => {
    expect(columnValue(2 ** 31, { field: "i", type: "integer" })).toEqual({ error: "field i: expected an integer within integer range, got 2147483648" });
    expect(columnValue("9223372036854775807", { field: "b", type: "bigint" })).toBe("9223372036854775807");
    expect(columnValue("false", { field: "b", type: "boolean" })).toBe("0");
    expect(columnValue("2026-02-03T04:05:06+01:00", { field: "t", type: "timestamp" })).toBe("2026-02-03T03:05:06.000Z");
    expect(columnValue({ a: 1 }, { field: "s", type: "text" })).toBe('{"a":1}');
    expect(columnValue("nope", { field: "d", type: "double" })).toMatchObject({ error: expect.any(String) });
  });
});

describe("sqlite sink", () => {
  test("one transaction per chunk; a redelivered row is a duplicate", async () => {
    const table = tableSpec("processed_messages", parseColumns("n:bigint"), "json");
    const sink = openSqliteSink(":memory:", table);
    const toRow = sqlRowProcessor({ table, consumerGroup: "g" });
    const rows = ["1", "2"].map((offset) => {
      const outcome = toRow(record(JSON.stringify({ n: Number(offset) }), { offset }));
      if (outcome.kind !== "write") throw new Error("expected a row");
      return outcome.item;
    });
    expect(await sink.write(rows)).toEqual({ written: 2, duplicates: 0, rejected: [] });
    expect(await sink.write(rows)).toEqual({ written: 0, duplicates: 2, rejected: [] });
    await sink.close();
  });

  test("on a worker thread: the same results, and a schema mismatch is a SqliteSchemaError", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kt-sqlite-"));
    try {
      const table = tableSpec("processed_messages", [], "json");
      const toRow = sqlRowProcessor({ table, consumerGroup: "g" });
      const rows = ["1", "2", "3"].map((offset) => {
        const outcome = toRow(record("{}", { offset }));
        if (outcome.kind !== "write") throw new Error("expected a row");
        return outcome.item;
      });
      const sink = await openSqliteWorkerSink(join(dir, "a.db"), table);
      expect(await sink.write(rows.slice(0, 2))).toEqual({ written: 2, duplicates: 0, rejected: [] });
      expect(await sink.write(rows)).toEqual({ written: 1, duplicates: 2, rejected: [] });
      await sink.close();
      const wider = tableSpec("processed_messages", parseColumns("n:bigint"), "json");
      await expect(openSqliteWorkerSink(join(dir, "a.db"), wider)).rejects.toThrow(SqliteSchemaError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
