/**
 * Levelled logging to stderr and to a per-run file `logs/YYYYMMDD_HHMMSS_<tool>.log`
 * (the layout of the original pipeline). Lines are readable on a terminal and
 * JSON otherwise; secret fields and URI passwords are masked before writing.
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
}

export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? (() => new Date());
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? (process.stderr.isTTY ? "pretty" : "json");
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const filePath = options.dir ? join(options.dir, `${fileStamp(now())}_${options.tool}.log`) : undefined;
  let fd: number | undefined;
  if (filePath && options.dir) {
    mkdirSync(options.dir, { recursive: true });
    fd = openSync(filePath, "a");
  }

  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const line = formatLine(format, now(), level, options.tool, redactUri(message), redactFields(fields));
    write(line);
    if (fd !== undefined) writeSync(fd, line + "\n");
  };

  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    enabled: (level) => LOG_LEVELS.indexOf(level) >= threshold,
    filePath,
    close: () => {
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
