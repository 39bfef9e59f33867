/**
 * Summary windows of process-events (seed 004's summary statistics), kept
 * per input partition so that a window only ever covers one contiguous range
 * of one partition's offsets. That makes a window's state part of the
 * partition's progress: it is stored as the metadata of the partition's
 * committed offset, in the same commit (or Kafka transaction) as the offset
 * itself, and a member that takes the partition over after a rebalance or a
 * kill -9 resumes the exact window the committed offset belongs to. So every
 * input message is counted in exactly one summary under exactly-once.
 *
 * A window closes after `every` messages of its partition, when its state
 * would no longer fit in offset metadata, and at stop (partial windows are
 * flushed with the offsets they cover).
 *
 * @example
 * const windows = new SummaryWindows({ every: 1000, count: { device_types: "device_type" } });
 * const closed = windows.add("user-login", 0, "41", { kind: "processed", event });
 * const metadata = windows.metadata("user-login", 0); // commit with offset 42
 * windows.restore("user-login", 0, "42", metadata);    // after a restart
 * windows.flushAll("stop");                             // partial windows at the end of a run
 */
import type { Event } from "./step.ts";

export type Classification = "processed" | "filtered" | "error";

export interface SummaryOptions {
  /** Input messages per window and partition. */
  every: number;
  /** Summary field → event field whose values are counted over processed events, e.g. locales → locale. */
  count: Readonly<Record<string, string>>;
}

export type CloseReason = "every" | "state-size" | "stop" | "revoked";

/** One summary message's content. */
export interface Summary {
  topic: string;
  partition: number;
  /** First and last input offset covered (both included). */
  from_offset: string;
  to_offset: string;
  /** Input messages covered: processed + filtered + errors. */
  messages: number;
  processed: number;
  filtered: number;
  errors: number;
  /** Per `count` entry: value → processed events with it. */
  counts: Record<string, Record<string, number>>;
  closed_by: CloseReason;
}

export interface Window {
  from: string;
  to: string;
  processed: number;
  filtered: number;
  errors: number;
  counts: Record<string, Record<string, number>>;
}

/** Kafka's default offset.metadata.max.bytes is 4096; a window's state stays well under it. */
export const MAX_STATE_BYTES = 3000;
const METADATA_PREFIX = "process-events/1:";

export class SummaryWindows {
  readonly #windows = new Map<string, Window>();
  readonly #options: SummaryOptions;
  readonly #countFields: [string, string][];

  constructor(options: SummaryOptions) {
    if (!(Number.isInteger(options.every) && options.every >= 1)) throw new RangeError("every must be an integer >= 1");
    this.#options = options;
    this.#countFields = Object.entries(options.count);
  }

  /** Counts one input message; returns the window it closed, if any. */
  add(topic: string, partition: number, offset: string, classification: Classification, event?: Event): Summary | undefined {
    const id = partitionId(topic, partition);
    let window = this.#windows.get(id);
    if (!window) {
      window = { from: offset, to: offset, processed: 0, filtered: 0, errors: 0, counts: {} };
      for (const [name] of this.#countFields) window.counts[name] = {};
      this.#windows.set(id, window);
    }
    window.to = offset;
    if (classification === "processed") {
      window.processed++;
      for (const [name, field] of this.#countFields) {
        const value = countKey(event?.[field]);
        const counts = window.counts[name]!;
        counts[value] = (counts[value] ?? 0) + 1;
      }
    } else if (classification === "filtered") window.filtered++;
    else window.errors++;

    if (size(window) >= this.#options.every) return this.#close(topic, partition, "every");
    return undefined;
  }

  /**
   * The open window of a partition as offset-commit metadata ("" when none).
   * Closes the window first, returning it, when its state grew too large.
   */
  metadata(topic: string, partition: number): { metadata: string; closed?: Summary } {
    const window = this.#windows.get(partitionId(topic, partition));
    if (!window) return { metadata: "" };
    const metadata = METADATA_PREFIX + JSON.stringify(window);
    if (Buffer.byteLength(metadata) <= MAX_STATE_BYTES) return { metadata };
    return { metadata: "", closed: this.#close(topic, partition, "state-size") };
  }

  /**
   * Resumes the window stored with a partition's committed offset. Metadata
   * that is not ours, or whose window does not end before the committed
   * offset, is ignored (false). The offset may lie past the window's last
   * message by transaction markers (a transactional input topic).
   */
  restore(topic: string, partition: number, committedOffset: string, metadata: string | null | undefined): boolean {
    const id = partitionId(topic, partition);
    this.#windows.delete(id);
    if (!metadata?.startsWith(METADATA_PREFIX)) return false;
    let window: Window;
    try {
      window = JSON.parse(metadata.slice(METADATA_PREFIX.length)) as Window;
    } catch {
      return false;
    }
    if (typeof window.to !== "string" || BigInt(window.to) >= BigInt(committedOffset)) return false;
    this.#windows.set(id, window);
    return true;
  }

  /** A copy of a partition's open window, to put back with {@link put} (trying a chunk without committing to it). */
  save(topic: string, partition: number): Readonly<Window> | undefined {
    const window = this.#windows.get(partitionId(topic, partition));
    return window && copyWindow(window);
  }

  /** Makes a saved window (or none) the partition's open window. */
  put(topic: string, partition: number, window: Readonly<Window> | undefined): void {
    if (window) this.#windows.set(partitionId(topic, partition), copyWindow(window));
    else this.#windows.delete(partitionId(topic, partition));
  }

  /** Forgets a partition's open window without a summary (it is revoked; its new owner resumes it). */
  forget(topic: string, partition: number): void {
    this.#windows.delete(partitionId(topic, partition));
  }

  /** Closes a partition's open window, if any. */
  flush(topic: string, partition: number, reason: CloseReason): Summary | undefined {
    return this.#windows.has(partitionId(topic, partition)) ? this.#close(topic, partition, reason) : undefined;
  }

  /** Partitions with an open window. */
  open(): { topic: string; partition: number }[] {
    return [...this.#windows.keys()].map(fromPartitionId);
  }

  #close(topic: string, partition: number, reason: CloseReason): Summary {
    const id = partitionId(topic, partition);
    const window = this.#windows.get(id)!;
    this.#windows.delete(id);
    return {
      topic,
      partition,
      from_offset: window.from,
      to_offset: window.to,
      messages: size(window),
      processed: window.processed,
      filtered: window.filtered,
      errors: window.errors,
      counts: window.counts,
      closed_by: reason,
    };
  }
}

/** A deep copy (counts are one level of plain objects); far cheaper than structuredClone per chunk. */
function copyWindow(window: Readonly<Window>): Window {
  const counts: Window["counts"] = {};
  for (const name in window.counts) counts[name] = { ...window.counts[name] };
  return { ...window, counts };
}

function size(window: Window): number {
  return window.processed + window.filtered + window.errors;
}

function countKey(value: unknown): string {
  if (value === undefined || value === null) return "(missing)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function partitionId(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

function fromPartitionId(id: string): { topic: string; partition: number } {
  const at = id.indexOf("\u0000");
  return { partition: Number(id.slice(0, at)), topic: id.slice(at + 1) };
}
