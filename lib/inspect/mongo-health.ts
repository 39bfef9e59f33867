/**
 * One health check of a MongoDB (or FerretDB) server: ping latency, server
 * version, replica-set state, and the collections of a database with their
 * counts and indexes. Bounded by a deadline, so an unreachable or stalled
 * server yields an unhealthy result instead of a hang.
 *
 * @example
 * const health = await checkMongoHealth(client, { database: "toolkit", timeoutMs: 5000 });
 * health.healthy;            // true
 * health.replica_set.mode;   // "standalone" on FerretDB
 */
import type { Collection, MongoClient } from "mongodb";
import { errorMessage } from "../errors.ts";

export type ReplicaSetState =
  | { mode: "standalone" }
  | {
      mode: "replica-set";
      name: string;
      primary: string | null;
      members: Array<{ name: string; state: string; healthy: boolean }>;
    };

export interface CollectionHealth {
  name: string;
  /** From collection statistics: fast, possibly slightly stale. */
  count: number;
  indexes: Array<{ name: string; key: Record<string, unknown>; unique?: boolean }>;
}

export interface MongoHealth {
  healthy: boolean;
  reachable: boolean;
  /** What makes the server unhealthy. */
  problems: string[];
  /** Worth knowing but not unhealthy, e.g. a secondary down. */
  warnings: string[];
  checked_at: string;
  ping_ms?: number;
  version?: string;
  replica_set?: ReplicaSetState;
  database?: string;
  collections?: CollectionHealth[];
}

export interface MongoHealthOptions {
  database?: string;
  timeoutMs: number;
  now?: () => Date;
}

export async function checkMongoHealth(client: MongoClient, options: MongoHealthOptions): Promise<MongoHealth> {
  const health: MongoHealth = {
    healthy: false,
    reachable: false,
    problems: [],
    warnings: [],
    checked_at: (options.now?.() ?? new Date()).toISOString(),
  };
  const check = async () => {
    const admin = client.db("admin");
    // Connect first so the ping measures a round trip, not a connection setup.
    await client.connect();
    const started = performance.now();
    await admin.command({ ping: 1 });
    health.ping_ms = Math.round((performance.now() - started) * 10) / 10;
    health.reachable = true;
    const buildInfo = await admin.command({ buildInfo: 1 });
    health.version = String(buildInfo.version ?? "unknown");
    health.replica_set = await replicaSetState(client);
    if (health.replica_set.mode === "replica-set") {
      if (!health.replica_set.primary) health.problems.push(`replica set ${health.replica_set.name} has no primary`);
      for (const m of health.replica_set.members.filter((member) => !member.healthy)) {
        health.warnings.push(`member ${m.name} is ${m.state}`);
      }
    }
    if (options.database) {
      health.database = options.database;
      health.collections = await collectionHealth(client, options.database);
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${options.timeoutMs / 1000} s`)), options.timeoutMs);
  });
  try {
    await Promise.race([check(), deadline]);
  } catch (error) {
    health.problems.push(health.reachable ? `check failed: ${errorMessage(error)}` : `unreachable: ${errorMessage(error)}`);
  } finally {
    clearTimeout(timer);
  }
  health.healthy = health.reachable && health.problems.length === 0;
  return health;
}

async function replicaSetState(client: MongoClient): Promise<ReplicaSetState> {
  // hello answers on every server without extra privileges; only a
  // replica-set member names a set, and only then is replSetGetStatus useful.
  const hello = await client.db("admin").command({ hello: 1 });
  if (typeof hello.setName !== "string") return { mode: "standalone" };
  const status = await client.db("admin").command({ replSetGetStatus: 1 });
  const members = ((status.members ?? []) as Array<{ name: string; stateStr: string; health: number }>).map((m) => ({
    name: m.name,
    state: m.stateStr,
    healthy: m.health === 1,
  }));
  return {
    mode: "replica-set",
    name: hello.setName,
    primary: members.find((m) => m.state === "PRIMARY")?.name ?? null,
    members,
  };
}

async function collectionHealth(client: MongoClient, database: string): Promise<CollectionHealth[]> {
  const db = client.db(database);
  const infos = await db.listCollections({}, { nameOnly: false }).toArray();
  const names = infos.filter((info) => (info.type ?? "collection") === "collection").map((info) => info.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const collection = db.collection(name);
      const [count, indexes] = await Promise.all([statsCount(collection), collection.indexes()]);
      return {
        name,
        count,
        indexes: indexes.map((index) => ({
          name: String(index.name),
          key: index.key as Record<string, unknown>,
          ...(index.unique ? { unique: true } : {}),
        })),
      };
    }),
  );
}

// $collStats reads storage statistics; the count command behind
// estimatedDocumentCount scans the whole collection on FerretDB (seconds for
// a few hundred MB), which would blow the check's deadline.
async function statsCount(collection: Collection): Promise<number> {
  const [stats] = await collection.aggregate<{ count?: number }>([{ $collStats: { count: {} } }]).toArray();
  return typeof stats?.count === "number" ? stats.count : collection.estimatedDocumentCount();
}

/** Human lines for one check, as mongo-health prints them. */
export function formatMongoHealth(health: MongoHealth, target: string): string {
  const lines = [`${target}: ${health.healthy ? "healthy" : "UNHEALTHY"} (${health.checked_at})`];
  if (health.ping_ms !== undefined) lines.push(`  ping ${health.ping_ms} ms, version ${health.version ?? "unknown"}`);
  const rs = health.replica_set;
  if (rs?.mode === "standalone") lines.push("  replica set: standalone");
  if (rs?.mode === "replica-set") {
    lines.push(`  replica set ${rs.name}: primary ${rs.primary ?? "none"}`);
    for (const m of rs.members) lines.push(`    ${m.name} ${m.state}${m.healthy ? "" : " (down)"}`);
  }
  if (health.collections) {
    lines.push(`  database ${health.database}: ${health.collections.length} collection(s)`);
    for (const c of health.collections) {
      const indexes = c.indexes.map((i) => `${i.name}${i.unique ? " (unique)" : ""}`).join(", ");
      lines.push(`    ${c.name}: ${c.count} documents; indexes: ${indexes || "none"}`);
    }
  }
  for (const p of health.problems) lines.push(`  problem: ${p}`);
  for (const w of health.warnings) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}
