/**
 * Levelled logging to stderr and to a per-run file `logs/YYYYMMDD_HHMMSS_<tool>.log`
 * (the layout of the original pipeline). Lines are readable on a terminal and
 * JSON otherwise; secret fields and URI passwords are masked before writing.
 *
 * On a terminal (pretty format on a TTY) progress reports do not scroll: they
 * go to the file as usual and show on the terminal as one live status line,
 * rewritten in place, which other log lines print above.
 *
 * @example
 * const log = createLogger({ tool: "kafka2mongo", format: "json" });
 * log.info("batch written", { count: 500, password: "x" }); // password: "***"
 * log.close();
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { redactFields, redactUri } from "../config/redact.ts";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = "pretty" | "json";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
  /**
   * A progress report: an info line in the file; on a terminal the live status
   * line `status` instead of a scrolling line. Elsewhere the same as info().
   */
  progress?(message: string, fields: LogFields, status: string): void;
  /** Present on a terminal only: redraws the live status line ("" clears it). */
  status?(text: string): void;
  /** Path of this run's log file, when there is one. */
  readonly filePath?: string;
  close(): void;
}

export interface LoggerOptions {
  tool: string;
  level?: LogLevel;
  format?: LogFormat;
  /** Directory for the per-run file; undefined for no file. */
  dir?: string;
  /** Where lines go besides the file; stderr keeps stdout for reports. */
  write?: (line: string) => void;
  now?: () => Date;
  /**
   * Where the live status line goes; by default stderr when it is a terminal
   * and the format is pretty. Undefined there: progress scrolls as log lines.
   */
  terminal?: Terminal;
}

export interface Terminal {
  write(text: string): void;
  /** Width to cut the status line to, so it never wraps (a wrapped line cannot be rewritten). */
  columns(): number;
}

const stderrTerminal: Terminal = {
  write: (text) => void process.stderr.write(text),
  columns: () => process.stderr.columns || 100,
};

/** Carriage return and erase-to-end-of-line: the status line is rewritten in place. */
const CLEAR_LINE = "\r\x1b[K";

export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? (() => new Date());
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? (process.stderr.isTTY ? "pretty" : "json");
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const terminal = options.terminal ?? (options.write === undefined && format === "pretty" && process.stderr.isTTY ? stderrTerminal : undefined);
  let statusText = "";
  const toTerminal = (line: string) => {
    if (!terminal || !statusText) return write(line);
    terminal.write(CLEAR_LINE);
    write(line);
    terminal.write(statusText);
  };
  const filePath = options.dir ? join(options.dir, `${fileStamp(now())}_${options.tool}.log`) : undefined;
  let fd: number | undefined;
  if (filePath && options.dir) {
    mkdirSync(options.dir, { recursive: true });
    fd = openSync(filePath, "a");
  }

  const emit = (level: LogLevel, message: string, fields: LogFields = {}, onTerminal = true) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const line = formatLine(format, now(), level, options.tool, redactUri(message), redactFields(fields));
    if (onTerminal) toTerminal(line);
    if (fd !== undefined) writeSync(fd, line + "\n");
  };
  const status = (text: string) => {
    statusText = text ? text.slice(0, Math.max(10, terminal!.columns() - 1)) : "";
    terminal!.write(CLEAR_LINE + statusText);
  };

  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    enabled: (level) => LOG_LEVELS.indexOf(level) >= threshold,
    progress: (message, fields, text) => {
      emit("info", message, fields, !terminal);
      if (terminal && LOG_LEVELS.indexOf("info") >= threshold) status(text);
    },
    ...(terminal ? { status } : {}),
    filePath,
    close: () => {
      if (terminal && statusText) status("");
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** A logger that drops everything; for library callers that want silence. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  enabled: () => false,
  close() {},
};

export function formatLine(
  format: LogFormat,
  time: Date,
  level: LogLevel,
  tool: string,
  message: string,
  fields: LogFields,
): string {
  if (format === "json") {
    return JSON.stringify({ time: time.toISOString(), level, tool, msg: message, ...fields }, jsonSafe);
  }
  const pairs = Object.entries(fields).map(([k, v]) => `${k}=${prettyValue(v)}`);
  return [time.toISOString(), level.toUpperCase().padEnd(5), message, ...pairs].join(" ");
}

function prettyValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value, jsonSafe) ?? String(value);
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

/** `YYYYMMDD_HHMMSS` in local time, as the original pipeline named its files. */
export function fileStamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}_` +
    `${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`
  );
}
