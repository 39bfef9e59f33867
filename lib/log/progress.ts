/**
 * Interval progress reporting for long runs: a line every N messages and
 * every T seconds (whichever comes first), with totals, rates and lag.
 *
 * @example
 * const progress = createProgress({ logger, everyMessages: 1000, everyMs: 10_000 });
 * progress.record(500, 512_000);
 * progress.setLag(1234);
 * const totals = progress.stop();
 */
import type { LogFields, Logger } from "./logger.ts";

export interface ProgressTotals {
  messages: number;
  bytes: number;
  elapsedMs: number;
  messagesPerSec: number;
  bytesPerSec: number;
  lag?: number;
}

export interface Progress {
  record(messages: number, bytes: number): void;
  setLag(lag: number | undefined): void;
  totals(): ProgressTotals;
  /** Stops the timer and returns the final totals. */
  stop(): ProgressTotals;
}

export interface ProgressOptions {
  logger: Logger;
  everyMessages: number;
  everyMs?: number;
  message?: string;
  /** Extra fields for each line, e.g. counts kept by the caller. */
  fields?: () => LogFields;
  clock?: () => number;
}

export function createProgress(options: ProgressOptions): Progress {
  const clock = options.clock ?? Date.now;
  const started = clock();
  let messages = 0;
  let bytes = 0;
  let lag: number | undefined;
  let lastReport = { at: started, messages: 0 };
  let nextMark = options.everyMessages;

  const totals = (): ProgressTotals => {
    const elapsedMs = Math.max(1, clock() - started);
    return {
      messages,
      bytes,
      elapsedMs,
      messagesPerSec: Math.round((messages * 1000) / elapsedMs),
      bytesPerSec: Math.round((bytes * 1000) / elapsedMs),
      lag,
    };
  };

  const report = () => {
    const at = clock();
    const windowMs = Math.max(1, at - lastReport.at);
    const t = totals();
    options.logger.info(options.message ?? "progress", {
      messages: t.messages,
      rate: Math.round(((messages - lastReport.messages) * 1000) / windowMs),
      avg_rate: t.messagesPerSec,
      bytes_per_sec: t.bytesPerSec,
      ...(lag !== undefined ? { lag } : {}),
      ...options.fields?.(),
    });
    lastReport = { at, messages };
  };

  const timer =
    options.everyMs && options.everyMs > 0
      ? setInterval(() => {
          if (messages !== lastReport.messages) report();
        }, options.everyMs)
      : undefined;
  timer?.unref?.();

  return {
    record(count, size) {
      messages += count;
      bytes += size;
      if (options.everyMessages > 0 && messages >= nextMark) {
        report();
        nextMark = (Math.floor(messages / options.everyMessages) + 1) * options.everyMessages;
      }
    },
    setLag(value) {
      lag = value;
    },
    totals,
    stop() {
      if (timer) clearInterval(timer);
      return totals();
    },
  };
}
