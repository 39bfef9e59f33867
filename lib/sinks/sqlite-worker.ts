/**
 * The SQLite sink of lib/sinks/sqlite.ts on a worker thread. SQLite's calls
 * are synchronous, and each chunk's COMMIT waits for fsync; on the thread
 * that decodes Kafka they would stall the consumer for the whole write.
 * Here the worker inserts and commits one chunk while the main thread
 * fetches and builds the next, which is what the engine's two chunks in
 * flight are for. Chunks still commit one at a time, in the order given,
 * and `write` resolves only after the chunk's COMMIT.
 *
 * @example
 * const sink = await openSqliteWorkerSink("data/landing.db", tableSpec("processed_messages", [], "json"));
 * const { written, duplicates, rejected } = await sink.write(rows);
 * await sink.close();
 */
import { TransientSinkError, type Sink, type SinkResult } from "../engine/sink.ts";
import type { SqlRow } from "../processors/sql-row.ts";
import type { TableSpec } from "../sql/table.ts";
import { SqliteSchemaError } from "./sqlite.ts";
import type { SqliteReply, SqliteRequest } from "./sqlite-worker-thread.ts";

type Request = SqliteRequest extends infer R ? (R extends SqliteRequest ? Omit<R, "id"> : never) : never;

export async function openSqliteWorkerSink(path: string, table: TableSpec): Promise<Sink<SqlRow>> {
  const worker = new Worker(new URL("./sqlite-worker-thread.ts", import.meta.url).href, { type: "module" });
  const pending = new Map<number, { resolve: (result: SinkResult | undefined) => void; reject: (error: Error) => void }>();
  let next = 0;
  let broken: Error | undefined;
  worker.onmessage = ({ data: reply }: MessageEvent<SqliteReply>) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (!waiter) return;
    if (!("error" in reply)) return waiter.resolve(reply.result);
    const { kind, message } = reply.error;
    waiter.reject(kind === "transient" ? new TransientSinkError(message) : kind === "schema" ? new SqliteSchemaError(message) : new Error(message));
  };
  // The worker itself died (out of memory, a crash in SQLite): nothing it was given is durable.
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    broken = new Error(`sqlite worker failed: ${event.message}`);
    for (const waiter of pending.values()) waiter.reject(broken);
    pending.clear();
  };
  const call = (request: Request) =>
    new Promise<SinkResult | undefined>((resolve, reject) => {
      if (broken) return reject(broken);
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });

  try {
    await call({ op: "open", path, table });
  } catch (error) {
    worker.terminate();
    throw error;
  }
  return {
    name: `sqlite ${path} ${table.name}`,
    write: async (rows) => (await call({ op: "write", rows }))!,
    close: async () => {
      try {
        await call({ op: "close" });
      } finally {
        worker.terminate();
      }
    },
  };
}
