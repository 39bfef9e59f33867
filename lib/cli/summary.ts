/**
 * The end-of-run report of a pipeline, as a log line, one human line on
 * stdout, or one JSON document for scripts.
 *
 * @example
 * reportSummary(summary, { log, json: false, written: "inserted" });
 */
import type { Logger } from "../log/logger.ts";

/**
 * What a run reports. The engine's PipelineSummary has this shape; it is
 * declared here rather than imported because cli sits below the engine.
 */
export interface RunSummary {
  consumed: number;
  written: number;
  duplicates: number;
  deadLettered: number;
  skipped: number;
  committed: number;
  messagesPerSec: number;
  elapsedMs: number;
  lag?: number;
  stoppedBy: string;
}

export interface SummaryReportOptions {
  log: Logger;
  json: boolean;
  /** What "written" means for this sink: inserted, copied, ... */
  written: string;
  /**
   * Replaces "duplicates skipped N" in the human line, for sinks that cannot
   * detect redelivered records (e.g. a Kafka topic).
   */
  duplicatesText?: string;
  /** Extra fields, e.g. where the data landed. */
  extra?: Record<string, unknown>;
}

function summaryFields(summary: RunSummary, written: string): Record<string, unknown> {
  return {
    consumed: summary.consumed,
    [written]: summary.written,
    duplicates: summary.duplicates,
    dead_lettered: summary.deadLettered,
    skipped: summary.skipped,
    committed: summary.committed,
    messages_per_sec: summary.messagesPerSec,
    elapsed_ms: Math.round(summary.elapsedMs),
    remaining_lag: summary.lag ?? null,
    stopped_by: summary.stoppedBy,
  };
}

export function reportSummary(summary: RunSummary, options: SummaryReportOptions): void {
  const fields = { ...summaryFields(summary, options.written), ...options.extra };
  options.log.info("summary", fields);
  if (options.json) {
    process.stdout.write(JSON.stringify(fields) + "\n");
    return;
  }
  const lag = summary.lag === undefined ? "unknown" : String(summary.lag);
  const duplicates = options.duplicatesText ?? `duplicates skipped ${summary.duplicates}`;
  process.stdout.write(
    `consumed ${summary.consumed}, ${options.written} ${summary.written}, ${duplicates}, ` +
      `dead-lettered ${summary.deadLettered}, skipped ${summary.skipped}, ${summary.messagesPerSec} msg/s, ` +
      `remaining lag ${lag} (stopped by ${summary.stoppedBy})\n`,
  );
}
