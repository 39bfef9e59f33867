/**
 * The committer: commits durable chunks in offset order per partition and
 * counts only what is committed.
 *
 * - A chunk finished out of order waits for the chunks before it (CommitOrder).
 * - A chunk consumed in an assignment epoch that is no longer current is not
 *   committed: its partition may belong to another member now, which reads it
 *   again (issue 9, 4h).
 * - A failed offset commit is not counted as committed (issue 9, 4g): its
 *   records stay pending, and a later successful commit of the partition (a
 *   commit covers everything before its offset) counts them.
 * - A chunk of a partition paused since it was consumed (`stale`, see
 *   partition-rewind.ts) that is not durable is handed back, and so is every
 *   later chunk of its generation, durable or not: no commit jumps over a
 *   chunk a writer gave up at the pause. (A stale chunk that became durable
 *   with nothing handed back before it is committed as usual.) The
 *   partition is read again from {@link Committer.position} when it resumes.
 * - Under the `transaction` strategy the sink's transaction committed the
 *   offset already; the committer only counts.
 *
 * @example
 * const committer = new Committer({ source, events, log, progress });
 * const ticket = committer.track(chunk);
 * await committer.complete(ticket, outcome); // commits and counts what became releasable
 */
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { Progress } from "../log/progress.ts";
import type { Chunk } from "./chunk.ts";
import { CommitOrder, type CommitTicket } from "./commit-order.ts";
import type { EngineEvents } from "./events.ts";
import { recordRef } from "./record.ts";
import type { Source } from "./source.ts";
import type { Durable, WriteOutcome } from "./writer.ts";

/** A record could not be processed and the run was told to stop on errors. */
export class PoisonMessageError extends Error {
  override name = "PoisonMessageError";
}

export interface Counts {
  consumed: number;
  written: number;
  duplicates: number;
  deadLettered: number;
  skipped: number;
  committed: number;
  bytes: number;
  /** Consumed but handed back: revoked, or stopped before durable. Read again by the partition's owner. */
  returned: number;
}

export interface CommitterOptions {
  source: Source;
  events: EngineEvents;
  log: Logger;
  progress: Progress;
  /** True for a chunk whose partition was paused after it was consumed: handed back, never committed. */
  stale?: (chunk: Chunk<unknown>) => boolean;
}

interface Settled<T> {
  chunk: Chunk<T>;
  outcome: WriteOutcome<T>;
}

/** Durable records of a partition whose offset commit failed, waiting for the next commit to cover them. */
interface Pending<T> {
  epoch: number;
  durables: Durable<T>[];
}

export class Committer<T> {
  readonly counts: Counts = { consumed: 0, written: 0, duplicates: 0, deadLettered: 0, skipped: 0, committed: 0, bytes: 0, returned: 0 };
  private readonly order = new CommitOrder<Settled<T>>();
  private readonly pending = new Map<string, Pending<T>>();
  /** Per partition, the next offset after the last chunk accepted for commit, and its epoch. */
  private readonly positions = new Map<string, { epoch: number; next: string }>();
  /** Per partition, the pause generation in which a chunk was handed back: its later chunks follow a gap. */
  private readonly handedBack = new Map<string, number>();

  constructor(private readonly options: CommitterOptions) {}

  /** Registers a chunk, in consumption order. */
  track(chunk: Chunk<T>): CommitTicket {
    return this.order.track(chunk.topic, chunk.partition);
  }

  /** Records how a chunk ended; commits and counts what became releasable. Throws PoisonMessageError at a poison record. */
  async complete(ticket: CommitTicket, chunk: Chunk<T>, outcome: WriteOutcome<T>): Promise<void> {
    const ready = this.order.complete(ticket, { chunk, outcome });
    const durables: Durable<T>[] = [];
    for (const settled of ready) {
      const { outcome } = settled;
      const key = `${settled.chunk.topic}\u0000${settled.chunk.partition}`;
      const generation = settled.chunk.generation ?? 0;
      if (this.options.stale?.(settled.chunk) && (outcome.kind !== "durable" || this.handedBack.get(key) === generation)) {
        this.handedBack.set(key, generation);
        this.giveBack(settled.chunk, "paused");
        continue;
      }
      if (outcome.kind === "durable" && outcome.durable.chunk.epoch === this.options.source.epoch()) {
        durables.push(outcome.durable);
        this.positions.set(key, { epoch: settled.chunk.epoch, next: settled.chunk.nextOffset });
        if (outcome.durable.poison) break;
        continue;
      }
      this.giveBack(settled.chunk, outcome.kind === "durable" ? "revoked" : outcome.kind);
      // Nothing after a chunk that is not durable may be committed: it would jump over it.
      if (outcome.kind === "stopped") break;
    }
    if (durables.length) await this.commit(durables);
  }

  /** Retries the commits that failed; true if nothing durable is left uncommitted. */
  async flush(): Promise<boolean> {
    for (const [key, pending] of [...this.pending]) {
      if (pending.epoch !== this.options.source.epoch()) {
        for (const durable of pending.durables) this.giveBack(durable.chunk, "revoked");
        this.pending.delete(key);
        continue;
      }
      const last = pending.durables[pending.durables.length - 1]!;
      this.pending.delete(key);
      await this.commit([last], pending.durables.slice(0, -1));
    }
    return this.pending.size === 0;
  }

  /** The next offset after the last chunk of the partition accepted for commit (durable, committed or pending) in the current epoch. */
  position(topic: string, partition: number): string | undefined {
    const found = this.positions.get(`${topic}\u0000${partition}`);
    return found?.epoch === this.options.source.epoch() ? found.next : undefined;
  }

  /** Chunks of the partition tracked and not yet released (being written, queued behind one, or waiting for an earlier one). */
  outstanding(topic: string, partition: number): number {
    return this.order.outstanding(topic, partition);
  }

  get uncommitted(): number {
    let records = 0;
    for (const pending of this.pending.values()) for (const d of pending.durables) records += d.chunk.records.length;
    return records;
  }

  private giveBack(chunk: Chunk<T>, why: "revoked" | "stopped" | "paused"): void {
    this.counts.returned += chunk.records.length;
    if (why === "paused") {
      this.options.log.debug("handing back a chunk of a paused partition; it is read again when the partition resumes", {
        partition: `${chunk.topic}/${chunk.partition}`,
        records: chunk.records.length,
      });
    }
    if (why === "revoked") {
      this.options.events.emit("chunk.revoked", { topic: chunk.topic, partition: chunk.partition, records: chunk.records.length });
      this.options.log.info("not committing a chunk consumed before a rebalance", {
        partition: `${chunk.topic}/${chunk.partition}`,
        records: chunk.records.length,
      });
    }
  }

  /** Commits the last of `durables` (covering the rest and `earlier`), then counts them all. */
  private async commit(durables: Durable<T>[], earlier: Durable<T>[] = []): Promise<void> {
    const last = durables[durables.length - 1]!;
    const { topic, partition, epoch } = last.chunk;
    const key = `${topic}\u0000${partition}`;
    const poison = last.poison;
    const all = [...earlier, ...durables];
    if (poison && last.committedBy === "sink") {
      // The poison chunk's transaction was aborted: none of it is committed.
      all.pop();
      this.giveBack(last.chunk, "stopped");
    } else if (last.committedBy === "sink") {
      // The sink's transaction committed the offset with the chunk.
      this.options.events.emit("commit", { topic, partition, offset: last.chunk.nextOffset, ok: true, ms: 0 });
    } else if (last.committedBy === "source" && !(poison && last.chunk.records[0] === poison.record)) {
      const offset = poison ? poison.record.offset : last.chunk.nextOffset;
      if (!(await this.commitOffset(topic, partition, offset, poison ? undefined : last.metadata))) {
        const pending = this.pending.get(key);
        const waiting = pending && pending.epoch === epoch ? pending.durables : [];
        // A poison chunk is never retried: the run ends with it, uncommitted.
        this.pending.set(key, { epoch, durables: [...waiting, ...all.filter((d) => !d.poison)] });
        if (poison) throw poisonError(poison);
        return;
      }
    }
    const waiting = this.pending.get(key);
    if (waiting && waiting.epoch === epoch) {
      all.unshift(...waiting.durables);
      this.pending.delete(key);
    }
    for (const durable of all) this.count(durable);
    if (poison) throw poisonError(poison);
  }

  private async commitOffset(topic: string, partition: number, offset: string, metadata: string | undefined): Promise<boolean> {
    const started = performance.now();
    try {
      await this.options.source.commit({ topic, partition, offset, metadata });
      this.options.events.emit("commit", { topic, partition, offset, ok: true, ms: performance.now() - started });
      return true;
    } catch (error) {
      // The records are durable; until a later commit covers them they are
      // not counted as committed, and a restart delivers them again.
      this.options.events.emit("commit", { topic, partition, offset, ok: false, ms: performance.now() - started, error: errorMessage(error) });
      this.options.log.warn("offset commit failed; records stay uncommitted until a later commit", {
        topic,
        partition,
        offset,
        error: errorMessage(error),
      });
      return false;
    }
  }

  private count(durable: Durable<T>): void {
    const { chunk, poison } = durable;
    // A poison record and everything after it stay uncommitted: a rerun starts at it.
    const records = poison ? chunk.records.filter((r) => BigInt(r.offset) < BigInt(poison.record.offset)) : chunk.records;
    const bytes = records.reduce((sum, r) => sum + r.size, 0);
    const counts = this.counts;
    counts.committed += records.length;
    counts.returned += chunk.records.length - records.length;
    counts.written += durable.written;
    counts.duplicates += durable.duplicates;
    counts.deadLettered += durable.dead.length;
    counts.skipped += poison ? 0 : chunk.skipped.length;
    counts.bytes += bytes;
    this.options.progress.record(records.length, bytes);
    this.options.events.emit("chunk.committed", {
      topic: chunk.topic,
      partition: chunk.partition,
      records: records.length,
      written: durable.written,
      duplicates: durable.duplicates,
      deadLettered: durable.dead.length,
      skipped: poison ? 0 : chunk.skipped.length,
      bytes,
      writeMs: durable.writeMs,
      latencyMs: performance.now() - chunk.consumedAt,
    });
  }
}

function poisonError(poison: { record: Parameters<typeof recordRef>[0]; stage: string; reason: string }): PoisonMessageError {
  return new PoisonMessageError(`message ${recordRef(poison.record)} failed at ${poison.stage}: ${poison.reason}`);
}
