/**
 * The worker side of lib/sinks/sqlite-worker.ts: owns the SQLite
 * connection and runs {@link openSqliteSink}'s transactions, one request at
 * a time, off the thread that decodes Kafka. Not imported; started as a
 * Worker (Bun and Deno both run web Workers from a module URL).
 *
 * @example
 * new Worker(new URL("./sqlite-worker-thread.ts", import.meta.url).href, { type: "module" });
 */
import { TransientSinkError, type Sink, type SinkResult } from "../engine/sink.ts";
import { errorMessage } from "../errors.ts";
import type { SqlRow } from "../processors/sql-row.ts";
import type { TableSpec } from "../sql/table.ts";
import { openSqliteSink, SqliteSchemaError } from "./sqlite.ts";

export type SqliteRequest =
  | { id: number; op: "open"; path: string; table: TableSpec }
  | { id: number; op: "write"; rows: SqlRow[] }
  | { id: number; op: "close" };

export type SqliteReply =
  | { id: number; result?: SinkResult }
  | { id: number; error: { kind: "transient" | "schema" | "fatal"; message: string } };

interface WorkerScope {
  onmessage: ((event: { data: SqliteRequest }) => void) | null;
  postMessage(reply: SqliteReply): void;
}
const scope = globalThis as unknown as WorkerScope;

let sink: Sink<SqlRow> | undefined;
// Requests run in arrival order; each waits for the one before.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = ({ data: request }) => {
  queue = queue.then(() => handle(request));
};

async function handle(request: SqliteRequest): Promise<void> {
  try {
    switch (request.op) {
      case "open":
        sink = openSqliteSink(request.path, request.table);
        scope.postMessage({ id: request.id });
        return;
      case "write":
        if (!sink) throw new Error("the database is not open");
        scope.postMessage({ id: request.id, result: await sink.write(request.rows) });
        return;
      case "close":
        await sink?.close();
        sink = undefined;
        scope.postMessage({ id: request.id });
        return;
    }
  } catch (error) {
    const kind = error instanceof TransientSinkError ? "transient" : error instanceof SqliteSchemaError ? "schema" : "fatal";
    scope.postMessage({ id: request.id, error: { kind, message: errorMessage(error) } });
  }
}
