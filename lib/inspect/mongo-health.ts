/**
 * One health check of a MongoDB (or FerretDB) server: reachable, ping
 * latency, server version, replica-set state and members, and whether a
 * majority write concern can be satisfied. Only these decide `healthy`; what
 * a database holds is the inventory's business (mongo-inventory.ts), which
 * may be slow on a healthy server. Bounded by a deadline, so an unreachable
 * or stalled server yields an unhealthy result instead of a hang.
 *
 * @example
 * const health = await checkMongoHealth(client, { timeoutMs: 5000 });
 * health.healthy;                   // true
 * health.replica_set.mode;          // "standalone" on FerretDB
 * health.write_majority?.possible;  // true
 */
import type { MongoClient } from "mongodb";
import { errorMessage } from "../errors.ts";

export type ReplicaSetState =
  | { mode: "standalone" }
  | {
      mode: "replica-set";
      name: string;
      primary: string | null;
      members: Array<{ name: string; state: string; healthy: boolean }>;
    };

/** Can a write with { w: "majority" } be acknowledged now? */
export interface WriteMajority {
  possible: boolean;
  /** Members that can acknowledge (healthy, data-bearing, voting). */
  healthy_voters: number;
  /** How many a majority needs. */
  needed: number;
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
  write_majority?: WriteMajority;
}

export interface MongoHealthOptions {
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
    const { state, majority } = await replicaSetState(client);
    health.replica_set = state;
    health.write_majority = majority;
    if (state.mode === "replica-set") {
      if (!state.primary) health.problems.push(`replica set ${state.name} has no primary`);
      for (const m of state.members.filter((member) => !member.healthy)) health.warnings.push(`member ${m.name} is ${m.state}`);
    }
    if (!majority.possible) {
      health.problems.push(`write concern majority not possible: ${majority.healthy_voters} healthy data-bearing voting member(s), ${majority.needed} needed`);
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

async function replicaSetState(client: MongoClient): Promise<{ state: ReplicaSetState; majority: WriteMajority }> {
  // hello answers on every server without extra privileges; only a
  // replica-set member names a set, and only then is replSetGetStatus useful.
  const hello = await client.db("admin").command({ hello: 1 });
  if (typeof hello.setName !== "string") {
    // A standalone server acknowledges a majority write by itself.
    return { state: { mode: "standalone" }, majority: { possible: true, healthy_voters: 1, needed: 1 } };
  }
  const status = await client.db("admin").command({ replSetGetStatus: 1 });
  const reported = (status.members ?? []) as Array<{ name: string; stateStr: string; health: number }>;
  const members = reported.map((m) => ({ name: m.name, state: m.stateStr, healthy: m.health === 1 }));
  const state: ReplicaSetState = {
    mode: "replica-set",
    name: hello.setName,
    primary: members.find((m) => m.state === "PRIMARY")?.name ?? null,
    members,
  };
  return { state, majority: writeMajority(members, status.majorityVoteCount) };
}

/**
 * Arbiters vote but hold no data, so they cannot acknowledge a write;
 * majorityVoteCount (MongoDB 4.2+) accounts for non-voting members, else a
 * majority of all members is assumed.
 */
export function writeMajority(members: Array<{ state: string; healthy: boolean }>, majorityVoteCount?: number): WriteMajority {
  const needed = typeof majorityVoteCount === "number" ? majorityVoteCount : Math.floor(members.length / 2) + 1;
  const healthyVoters = members.filter((m) => m.healthy && (m.state === "PRIMARY" || m.state === "SECONDARY")).length;
  return { possible: healthyVoters >= needed, healthy_voters: healthyVoters, needed };
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
  const majority = health.write_majority;
  if (majority) lines.push(`  write concern majority: ${majority.possible ? "possible" : "NOT possible"} (${majority.healthy_voters} healthy voting member(s), ${majority.needed} needed)`);
  for (const p of health.problems) lines.push(`  problem: ${p}`);
  for (const w of health.warnings) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}
