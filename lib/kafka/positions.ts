/**
 * Where a read starts and ends in each partition, as kcat says it: an offset
 * spec (`beginning`, `end`, `N`, `-N` from the end) or a time (ISO-8601 or
 * epoch milliseconds, resolved with the broker's offsets-for-times). The
 * parsing and the resolution are pure; {@link fetchPartitionBounds} asks the
 * broker for what they need.
 *
 * A time resolves to the first offset whose timestamp is at or after it (the
 * broker's ListOffsets by timestamp); when no message is that late, to the
 * end. So a window [from, to) reads each partition from the first message at
 * or after `from` up to, not including, the first at or after `to`, as
 * `kcat -o s@from -o e@to` does. Timestamps need not grow within a partition
 * (CreateTime is the producer's); a late message with an early timestamp is
 * inside the window if its offset is.
 *
 * @example
 * const bounds = await fetchPartitionBounds(admin, "logins", { fromTime: parseTime("2025-03-18T09:00:00Z", "--from-time") });
 * const ranges = bounds.map((b) => resolveRange(b, { start: { kind: "time" }, end: { kind: "end" } }));
 * // [{ partition: 0, start: 1200n, end: 5000n }, ...]
 */
import type { Admin } from "kafkajs";
import { UsageError } from "../errors.ts";

export type OffsetSpec =
  | { kind: "beginning" }
  | { kind: "end" }
  | { kind: "offset"; offset: bigint }
  /** The last `count` offsets of each partition. */
  | { kind: "tail"; count: bigint };

/** Parses kcat's -o: beginning, end, an offset, or -N (N from the end of each partition). */
export function parseOffsetSpec(text: string, flag = "--offset"): OffsetSpec {
  const t = text.trim();
  if (t === "beginning") return { kind: "beginning" };
  if (t === "end") return { kind: "end" };
  if (/^\d+$/.test(t)) return { kind: "offset", offset: BigInt(t) };
  if (/^-\d+$/.test(t)) return { kind: "tail", count: -BigInt(t) };
  throw new UsageError(`${flag} must be beginning, end, an offset N or -N (N from the end), got '${text}'`);
}

/**
 * Parses a time: epoch milliseconds (digits only) or ISO-8601 with a date
 * (`2025-03-18`, `2025-03-18T09:00:00Z`, `2025-03-18T09:00+01:00`). A time
 * without a zone is UTC, never the machine's zone, so a command means the
 * same everywhere.
 */
export function parseTime(text: string, flag: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(t);
  if (iso) {
    const withZone = iso[1] ? t : `${t.length === 10 ? `${t}T00:00` : t}Z`;
    const ms = Date.parse(withZone.replace(" ", "T"));
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`${flag} must be an ISO-8601 time (2025-03-18T09:00:00Z) or epoch milliseconds, got '${text}'`);
}

/** What the broker says of one partition, all offsets as bigints. */
export interface PartitionBounds {
  partition: number;
  /** The log start offset. */
  low: bigint;
  /** The end for a read_committed reader (the last stable offset). */
  high: bigint;
  /** First offset at or after the start time; `high` when none is that late. */
  atFromTime?: bigint;
  /** First offset at or after the end time; `high` when none is that late. */
  atToTime?: bigint;
  /** A consumer group's committed offset, when it has one. */
  committed?: bigint;
}

export interface RangeSpec {
  /** "time": at the from time (bounds.atFromTime); "committed": the group's committed offset, or the beginning. */
  start: OffsetSpec | { kind: "time" } | { kind: "committed" };
  /** "time": before the to time; "end": the end when the read starts (kcat -e); "none": follow. */
  end: { kind: "time" } | { kind: "end" } | { kind: "none" };
}

export interface PartitionRange {
  partition: number;
  /** First offset to read. */
  start: bigint;
  /** Offset to stop before; undefined: keep reading. */
  end?: bigint;
}

/** The range to read in one partition. Offsets outside the log are clamped into it. */
export function resolveRange(bounds: PartitionBounds, spec: RangeSpec): PartitionRange {
  const { low, high } = bounds;
  const clamp = (offset: bigint) => (offset < low ? low : offset > high ? high : offset);
  const start = (() => {
    switch (spec.start.kind) {
      case "committed":
        return bounds.committed === undefined ? low : clamp(bounds.committed);
      case "beginning":
        return low;
      case "end":
        return high;
      case "offset":
        return clamp(spec.start.offset);
      case "tail":
        return clamp(high - spec.start.count);
      case "time":
        return clamp(required(bounds.atFromTime, "from time"));
    }
  })();
  const end = spec.end.kind === "none" ? undefined : spec.end.kind === "end" ? high : clamp(required(bounds.atToTime, "to time"));
  return { partition: bounds.partition, start, end };
}

function required(offset: bigint | undefined, what: string): bigint {
  if (offset === undefined) throw new Error(`the offsets at the ${what} were not fetched`);
  return offset;
}

/**
 * Low and high offsets of every partition of a topic, plus the offsets at
 * the times given. kafkajs' offsets by timestamp already answer the high
 * offset for a partition with no message that late.
 */
export async function fetchPartitionBounds(
  admin: Pick<Admin, "fetchTopicOffsets" | "fetchTopicOffsetsByTimestamp">,
  topic: string,
  times: { fromTime?: number; toTime?: number } = {},
): Promise<PartitionBounds[]> {
  const [offsets, atFrom, atTo] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    times.fromTime === undefined ? undefined : admin.fetchTopicOffsetsByTimestamp(topic, times.fromTime),
    times.toTime === undefined ? undefined : admin.fetchTopicOffsetsByTimestamp(topic, times.toTime),
  ]);
  const at = (list: { partition: number; offset: string }[] | undefined, partition: number) => {
    const offset = list?.find((o) => o.partition === partition)?.offset;
    return offset === undefined ? undefined : BigInt(offset);
  };
  return offsets
    .map((o) => ({
      partition: o.partition,
      low: BigInt(o.low),
      high: BigInt(o.high),
      atFromTime: at(atFrom, o.partition),
      atToTime: at(atTo, o.partition),
    }))
    .sort((a, b) => a.partition - b.partition);
}
