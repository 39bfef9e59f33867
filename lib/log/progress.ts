/**
 * Interval progress reporting for long runs: a line every N messages and
 * every T seconds (whichever comes first), with totals, rates and lag. On a
 * terminal the same report is one live status line, redrawn every second,
 * with the time left to catch up (lag / current rate); see Logger.progress.
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
  /** How often the live status line is redrawn on a terminal. */
  statusEveryMs?: number;
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

  // The status line's rate: over the last few seconds, not since the start.
  let lastTick = { at: started, messages: 0 };
  let currentRate = 0;
  const tick = () => {
    const at = clock();
    if (at - lastTick.at < 250) return;
    currentRate = ((messages - lastTick.messages) * 1000) / (at - lastTick.at);
    lastTick = { at, messages };
  };

  const report = () => {
    const at = clock();
    const windowMs = Math.max(1, at - lastReport.at);
    const t = totals();
    const fields = {
      messages: t.messages,
      rate: Math.round(((messages - lastReport.messages) * 1000) / windowMs),
      avg_rate: t.messagesPerSec,
      bytes_per_sec: t.bytesPerSec,
      ...(lag !== undefined ? { lag } : {}),
      ...options.fields?.(),
    };
    const message = options.message ?? "progress";
    if (options.logger.progress) options.logger.progress(message, fields, statusLine());
    else options.logger.info(message, fields);
    lastReport = { at, messages };
  };

  const statusLine = () =>
    formatStatusLine({ label: options.message ?? "progress", totals: totals(), rate: currentRate, extra: options.fields?.() ?? {} });

  const status = options.logger.status;
  const statusTimer = status
    ? setInterval(() => {
        tick();
        status(statusLine());
      }, options.statusEveryMs ?? 1000)
    : undefined;
  statusTimer?.unref?.();

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
      if (statusTimer) clearInterval(statusTimer);
      status?.("");
      return totals();
    },
  };
}

/**
 * One status line: totals, the current rate, lag and the time left to catch
 * up at that rate, then the caller's counts.
 *
 * @example
 * formatStatusLine({ label: "progress", totals, rate: 5012, extra: { written: 120000 } });
 * // "progress 120,000 msgs  5,012 msg/s  117 MB  lag 30,000  caught up in 6s  written 120,000"
 */
export function formatStatusLine(input: { label: string; totals: ProgressTotals; rate: number; extra: LogFields }): string {
  const { totals, rate } = input;
  const parts = [`${input.label} ${count(totals.messages)} msgs`, `${count(Math.round(rate))} msg/s`, bytes(totals.bytes)];
  if (totals.lag !== undefined) {
    parts.push(`lag ${count(totals.lag)}`);
    if (totals.lag === 0) parts.push("caught up");
    else parts.push(rate >= 1 ? `caught up in ${duration(totals.lag / rate)}` : "not catching up");
  }
  for (const [key, value] of Object.entries(input.extra)) {
    if (typeof value === "number" && value === 0) continue;
    parts.push(`${key.replaceAll("_", "-")} ${typeof value === "number" ? count(value) : String(value)}`);
  }
  return parts.join("  ");
}

const count = (n: number): string => n.toLocaleString("en-US");

function bytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}m`;
}
