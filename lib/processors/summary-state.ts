/**
 * process-events' partition state for the engine (engine/partition-state.ts):
 * the open summary windows, committed as each input partition's offset
 * metadata, and the counts of processed, filtered and error messages whose
 * chunks went through. Each chunk's closed windows become summary messages
 * written with the chunk (in its transaction under exactly-once); a clean
 * stop flushes the partial windows with the offsets they cover.
 *
 * A chunk is tried on a copy of its partition's window: a write that is
 * retried, fenced or handed back leaves the window as it was, and the next
 * owner of the partition restores it from the committed metadata.
 *
 * @example
 * const state = summaryState({ windows: new SummaryWindows({ every: 1000, count: {} }), topic: "summary-output" });
 * await runPipeline({ ..., partitionState: state });
 * state.counts; // { processed, filtered, errors, summaries }
 */
import type { Chunk } from "../engine/chunk.ts";
import type { PartitionState, StateStep } from "../engine/partition-state.ts";
import { summaryMessage, type EventOutput } from "./event-outputs.ts";
import type { SummaryWindows } from "./summary-window.ts";

export interface EventCounts {
  processed: number;
  filtered: number;
  errors: number;
  summaries: number;
}

export interface SummaryStateOptions {
  /** Absent (no summary topic): only counts, no metadata. */
  windows?: SummaryWindows;
  /** The summary topic; required with windows. */
  topic?: string;
}

export interface SummaryState extends PartitionState<EventOutput> {
  readonly counts: EventCounts;
}

export function summaryState(options: SummaryStateOptions): SummaryState {
  const { windows } = options;
  const counts: EventCounts = { processed: 0, filtered: 0, errors: 0, summaries: 0 };
  if (windows && !options.topic) throw new Error("summary windows need a summary topic");

  return {
    counts,
    restore(topic, partition, committed) {
      if (!windows) return;
      if (!committed || !windows.restore(topic, partition, committed.offset, committed.metadata)) windows.forget(topic, partition);
    },
    prepare(chunk: Chunk<EventOutput>): StateStep<EventOutput> {
      const chunkCounts = { processed: 0, filtered: 0, errors: 0 };
      const items: EventOutput[] = [];
      const now = new Date();
      const before = windows?.save(chunk.topic, chunk.partition);
      // writes, dead and skipped each keep the records' order: one walk classifies every record.
      let w = 0;
      let d = 0;
      for (const record of chunk.records) {
        const write = chunk.writes[w];
        let kind: "processed" | "filtered" | "error";
        let event;
        if (write?.record === record) {
          w++;
          event = write.item.event;
          kind = event ? "processed" : "filtered";
        } else if (chunk.dead[d]?.record === record) {
          d++;
          kind = "error";
        } else kind = "filtered";
        chunkCounts[kind === "error" ? "errors" : kind]++;
        const closed = windows?.add(chunk.topic, chunk.partition, record.offset, kind, event);
        if (closed) items.push(summaryMessage(closed, options.topic!, now));
      }
      let metadata = "";
      if (windows) {
        const open = windows.metadata(chunk.topic, chunk.partition);
        if (open.closed) items.push(summaryMessage(open.closed, options.topic!, now));
        metadata = open.metadata;
      }
      const after = windows?.save(chunk.topic, chunk.partition);
      windows?.put(chunk.topic, chunk.partition, before);
      return {
        items,
        metadata,
        apply() {
          windows?.put(chunk.topic, chunk.partition, after);
          counts.processed += chunkCounts.processed;
          counts.filtered += chunkCounts.filtered;
          counts.errors += chunkCounts.errors;
          counts.summaries += items.length;
        },
      };
    },
    flush(topic, partition) {
      if (!windows) return undefined;
      const before = windows.save(topic, partition);
      const summary = windows.flush(topic, partition, "stop");
      windows.put(topic, partition, before);
      if (!summary) return undefined;
      return {
        items: [summaryMessage(summary, options.topic!)],
        metadata: "",
        apply() {
          windows.forget(topic, partition);
          counts.summaries++;
        },
      };
    },
  };
}
