/**
 * The MongoDB exporter (mongo-health --serve), seed 003's persistence
 * monitoring: up, ping latency, connections, operation and command counters,
 * and per collection its document count and sizes. Refreshed on each scrape
 * by the caller's loop; a failed refresh sets up to 0 and keeps the
 * collection values of the last good one.
 *
 * Connections and opcounters come from serverStatus on MongoDB; FerretDB
 * reports neither, only its command counters (metrics.commands), which
 * MongoDB reports too.
 *
 * @example
 * const exporter = mongoExporter(registry, { target: "mongodb://127.0.0.1:27017" });
 * await exporter.refresh(client, { database: "toolkit", timeoutMs: 5000 });
 */
import type { MongoClient } from "mongodb";
import { Gauge, type Registry } from "prom-client";
import { METRIC_PREFIX } from "./registry.ts";

export interface MongoExporter {
  refresh(client: MongoClient, options: { database?: string; timeoutMs: number }): Promise<Error | undefined>;
}

interface ServerStatus {
  uptime?: number;
  connections?: { current?: number; available?: number };
  opcounters?: Record<string, number>;
  metrics?: { commands?: Record<string, { total?: unknown; failed?: unknown }> };
}

export function mongoExporter(registry: Registry, options: { target: string }): MongoExporter {
  const { target } = options;
  const registers = [registry];
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers });
  const up = gauge("mongodb_up", "1 if the last check reached the server and it answered ping", ["target"] as const);
  const ping = gauge("mongodb_ping_seconds", "Round trip of a ping command", ["target"] as const);
  const uptime = gauge("mongodb_uptime_seconds", "Server uptime from serverStatus", ["target"] as const);
  const connections = gauge("mongodb_connections", "Client connections by state (MongoDB only)", ["target", "state"] as const);
  // Gauges, not counters, named _total: they mirror the server's own cumulative counters.
  const ops = gauge("mongodb_op_counters_total", "Operations since server start by type (MongoDB only)", ["target", "type"] as const);
  const commands = gauge("mongodb_commands_total", "Commands run since server start, by command", ["target", "command"] as const);
  const failedCommands = gauge("mongodb_commands_failed_total", "Commands failed since server start, by command", ["target", "command"] as const);
  const byCollection = ["target", "database", "collection"] as const;
  const documents = gauge("mongodb_collection_documents", "Documents in the collection (storage statistics)", byCollection);
  const size = gauge("mongodb_collection_size_bytes", "Uncompressed size of the collection's documents", byCollection);
  const storage = gauge("mongodb_collection_storage_bytes", "Storage the collection takes", byCollection);
  const indexes = gauge("mongodb_collection_index_bytes", "Storage the collection's indexes take", byCollection);
  const duration = gauge("mongodb_check_duration_seconds", "Time the last check took", ["target"] as const);

  const check = async (client: MongoClient, database: string | undefined) => {
    const admin = client.db("admin");
    await client.connect();
    const started = performance.now();
    await admin.command({ ping: 1 });
    ping.set({ target }, (performance.now() - started) / 1000);
    const status = (await admin.command({ serverStatus: 1 })) as ServerStatus;
    if (typeof status.uptime === "number") uptime.set({ target }, status.uptime);
    for (const state of ["current", "available"] as const) {
      const value = status.connections?.[state];
      if (typeof value === "number") connections.set({ target, state }, value);
    }
    for (const [type, value] of Object.entries(status.opcounters ?? {})) if (typeof value === "number") ops.set({ target, type }, value);
    commands.reset();
    failedCommands.reset();
    for (const [command, counts] of Object.entries(status.metrics?.commands ?? {})) {
      commands.set({ target, command }, Number(counts.total ?? 0));
      failedCommands.set({ target, command }, Number(counts.failed ?? 0));
    }
    if (database) await collectionStats(client, database);
  };

  const collectionStats = async (client: MongoClient, database: string) => {
    const db = client.db(database);
    const infos = await db.listCollections({}, { nameOnly: false }).toArray();
    const names = infos.filter((info) => (info.type ?? "collection") === "collection").map((info) => info.name);
    // collStats reads storage statistics: a count command scans the collection on FerretDB.
    const stats = await Promise.all(names.map((name) => db.command({ collStats: name }).then((s) => ({ name, s }))));
    for (const g of [documents, size, storage, indexes]) g.reset();
    for (const { name, s } of stats) {
      const labels = { target, database, collection: name };
      documents.set(labels, Number(s.count ?? 0));
      size.set(labels, Number(s.size ?? 0));
      storage.set(labels, Number(s.storageSize ?? 0));
      indexes.set(labels, Number(s.totalIndexSize ?? 0));
    }
  };

  return {
    async refresh(client, refreshOptions) {
      const started = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${refreshOptions.timeoutMs / 1000} s`)), refreshOptions.timeoutMs);
      });
      try {
        await Promise.race([check(client, refreshOptions.database), deadline]);
        up.set({ target }, 1);
        return undefined;
      } catch (error) {
        up.set({ target }, 0);
        return error instanceof Error ? error : new Error(String(error));
      } finally {
        clearTimeout(timer);
        duration.set({ target }, (performance.now() - started) / 1000);
      }
    },
  };
}
