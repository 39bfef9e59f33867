/**
 * A replay window's end for a consumer group (`--to-time` on the pipeline
 * tools): per partition, the first offset at or after the end time. Records
 * from there on are not handed out, nothing past it is committed, and a
 * partition whose fetches reached it has no lag left, so a run with
 * --until-caught-up ends exactly at the window's end (exit 0). The start
 * (`--from-time`) is a reset of the group's offsets before the run.
 *
 * Pure bookkeeping; lib/sources/kafka.ts feeds it offsets.
 *
 * @example
 * const window = new WindowEnds(new Map([["logins/0", 120n]]));
 * window.contains("logins", 0, "119");     // true
 * window.clampNext("logins", 0, "130");    // "120": commit no further than the end
 * window.fetched("logins", 0, "125");      // true: the partition is done; pause it
 * window.lag("logins", 0, 80, 500);        // 0 (500: the lag to the log's end)
 */

/** The replay window flags: epoch milliseconds. */
export interface ReplayWindow {
  fromTime?: number;
  toTime?: number;
}

export class WindowEnds {
  private readonly reached = new Set<string>();

  /** `ends` by `topic/partition`; a partition without one has no end. */
  constructor(private readonly ends: Map<string, bigint>) {}

  private end(topic: string, partition: number): bigint | undefined {
    return this.ends.get(`${topic}/${partition}`);
  }

  /** The record at `offset` is inside the window. */
  contains(topic: string, partition: number, offset: string): boolean {
    const end = this.end(topic, partition);
    return end === undefined || BigInt(offset) < end;
  }

  /** A next offset to commit, never past the end. */
  clampNext(topic: string, partition: number, next: string): string {
    const end = this.end(topic, partition);
    return end !== undefined && BigInt(next) > end ? end.toString() : next;
  }

  /** Notes a fetched batch ending at `lastOffset`; true the first time the partition's end is reached. */
  fetched(topic: string, partition: number, lastOffset: string): boolean {
    const end = this.end(topic, partition);
    const key = `${topic}/${partition}`;
    if (end === undefined || this.reached.has(key) || BigInt(lastOffset) + 1n < end) return false;
    this.reached.add(key);
    return true;
  }

  /**
   * Lag left in the window, from the group's position (its committed offset,
   * or the earliest when it has none): none once a fetch reached the end,
   * since the records before it were handed out and the caller waits for
   * them to be committed before it asks. `lag` without a window end is kept.
   */
  lag(topic: string, partition: number, position: number, lag: number): number {
    const end = this.end(topic, partition);
    if (end === undefined) return lag;
    return this.reached.has(`${topic}/${partition}`) ? 0 : Math.max(0, Number(end) - position);
  }
}
