/**
 * Offset syncs, as pure logic: which destination offset holds the copy of
 * which source offset, recorded while copying, and the translation of a
 * consumer group's committed source offset to the destination (MirrorMaker
 * 2's offset syncs and checkpoints, kept exact).
 *
 * A sync describes a run of copies that are consecutive on both sides:
 * source offset `upstream + i` is at destination offset `downstream + i` for
 * every i < count. A run ends where either side skips (a transaction marker
 * or a loop-prevented record upstream, another writer downstream); the next
 * copy starts a new run. Syncs are written as the run grows (so the last one
 * of a run is at most one flush old) to a compacted topic on the destination,
 * keyed by flow and first source offset, so compaction keeps the newest state
 * of every run.
 *
 * Translating a committed offset c (the next offset the group reads): the run
 * with the largest upstream <= c gives downstream + min(c - upstream, count).
 * Inside a run that is exact; past its known end it is the destination
 * offset after the run's last known copy, so a consumer that moves clusters
 * never skips a message and re-reads at most what was copied after the last
 * sync. Before the first run there is nothing to translate.
 *
 * @example
 * const tracker = new OffsetSyncTracker({ cluster: "src-id", provenance: "cluster" });
 * tracker.copied("logins", 0, "logins", 400n, 450n); // ... one call per acknowledged copy
 * const syncs = tracker.changed();                  // [{ ..., upstream: 400n, downstream: 450n, count: 1 }]
 * const store = new OffsetSyncStore();
 * syncs.forEach((s) => store.add(s));
 * store.translate({ cluster: "src-id", topic: "logins", partition: 0, target: "logins" }, 401n); // 451n
 */

/** One replication flow: a source partition copied into a destination topic (same partition number). */
export interface Flow {
  /** Cluster id of the source. */
  cluster: string;
  topic: string;
  partition: number;
  /** Destination topic. */
  target: string;
}

export interface OffsetSync extends Flow {
  upstream: bigint;
  downstream: bigint;
  count: number;
  /** The flow's provenance mode ("none", "cluster", "full"), read by the two-way check. */
  provenance: string;
}

export class OffsetSyncFormatError extends Error {
  override name = "OffsetSyncFormatError";
}

/** The record of a sync: the key names the flow and the run (for compaction), the value its extent. */
export function encodeOffsetSync(sync: OffsetSync): { key: string; value: string } {
  return {
    key: JSON.stringify({ cluster: sync.cluster, topic: sync.topic, partition: sync.partition, target: sync.target, upstream: String(sync.upstream) }),
    value: JSON.stringify({ downstream: String(sync.downstream), count: sync.count, provenance: sync.provenance }),
  };
}

/** Reads a sync record back; throws OffsetSyncFormatError for anything else. */
export function decodeOffsetSync(key: Buffer | string | null, value: Buffer | string | null): OffsetSync {
  try {
    const k = JSON.parse(String(key));
    const v = JSON.parse(String(value));
    const sync: OffsetSync = {
      cluster: k.cluster,
      topic: k.topic,
      partition: k.partition,
      target: k.target,
      upstream: BigInt(k.upstream),
      downstream: BigInt(v.downstream),
      count: v.count,
      provenance: v.provenance,
    };
    const wellFormed =
      typeof sync.cluster === "string" && typeof sync.topic === "string" && typeof sync.target === "string" &&
      Number.isInteger(sync.partition) && Number.isInteger(sync.count) && sync.count > 0 && typeof sync.provenance === "string";
    if (wellFormed) return sync;
  } catch {
    // reported below
  }
  throw new OffsetSyncFormatError(`not an offset sync: key ${String(key).slice(0, 200)}`);
}

function flowKey(flow: Flow): string {
  return `${flow.cluster}\u0000${flow.topic}\u0000${flow.partition}\u0000${flow.target}`;
}

interface Run {
  flow: Flow;
  upstream: bigint;
  downstream: bigint;
  count: number;
  /** count when last returned by changed(). */
  reported: number;
}

/**
 * Follows the copies of one run of kafka2kafka, in acknowledgement order per
 * partition, and says which syncs changed since it was last asked.
 */
export class OffsetSyncTracker {
  private readonly runs = new Map<string, Run>();
  /** Runs that ended with copies not yet reported. */
  private ended: OffsetSync[] = [];

  constructor(private readonly context: { cluster: string; provenance: string }) {}

  /** A copy of source `topic/partition@upstream` is at `target/partition@downstream`. */
  copied(topic: string, partition: number, target: string, upstream: bigint, downstream: bigint): void {
    this.copiedRange(topic, partition, target, upstream, downstream, 1);
  }

  /**
   * Copies of source offsets `upstream` .. `upstream + count - 1` at
   * destination offsets `downstream` .. `downstream + count - 1`: a whole
   * acknowledged batch at once, when its source offsets have no gap.
   */
  copiedRange(topic: string, partition: number, target: string, upstream: bigint, downstream: bigint, count: number): void {
    const key = `${topic}\u0000${partition}\u0000${target}`;
    const run = this.runs.get(key);
    if (run) {
      const length = BigInt(run.count);
      if (upstream === run.upstream + length && downstream === run.downstream + length) {
        run.count += count;
        return;
      }
      if (run.count > run.reported) this.ended.push(this.sync(run));
    }
    this.runs.set(key, { flow: { cluster: this.context.cluster, topic, partition, target }, upstream, downstream, count, reported: 0 });
  }

  /** Syncs of every run that grew or ended since the last call. */
  changed(): OffsetSync[] {
    const out = this.ended;
    this.ended = [];
    for (const run of this.runs.values()) {
      if (run.count === run.reported) continue;
      out.push(this.sync(run));
      run.reported = run.count;
    }
    return out;
  }

  /** Syncs that changed() returned but could not be written: returned again, first, by the next changed(). */
  requeue(syncs: OffsetSync[]): void {
    this.ended.unshift(...syncs);
  }

  private sync(run: Run): OffsetSync {
    return { ...run.flow, upstream: run.upstream, downstream: run.downstream, count: run.count, provenance: this.context.provenance };
  }
}

/** The syncs known for each flow, newest state of each run, for translation. */
export class OffsetSyncStore {
  private readonly flows = new Map<string, Map<bigint, OffsetSync>>();

  /** Adds a sync; a later sync of the same run (same flow and upstream) replaces an earlier one. */
  add(sync: OffsetSync): void {
    const key = flowKey(sync);
    let runs = this.flows.get(key);
    if (!runs) this.flows.set(key, (runs = new Map()));
    runs.set(sync.upstream, sync);
  }

  /** The destination offset for committed source offset `committed`, or undefined before the first run. */
  translate(flow: Flow, committed: bigint): bigint | undefined {
    const runs = this.flows.get(flowKey(flow));
    if (!runs) return undefined;
    let best: OffsetSync | undefined;
    for (const run of runs.values()) {
      if (run.upstream <= committed && (!best || run.upstream > best.upstream)) best = run;
    }
    if (!best) return undefined;
    const into = committed - best.upstream;
    return best.downstream + (into < BigInt(best.count) ? into : BigInt(best.count));
  }
}
