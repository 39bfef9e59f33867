/**
 * Command-line flags for every tool: one declaration drives parsing, --help
 * and typed getters that fail with a one-line UsageError naming the flag.
 *
 * @example
 * const spec = defineTool({
 *   name: "verify-topic",
 *   summary: "Read a topic to its end and report what it holds.",
 *   options: { topic: { type: "string", value: "T", description: "Topic to read" } },
 *   examples: ["bun tools/verify-topic.ts --topic logins"],
 * });
 * const flags = parseFlags(spec, ["--topic", "logins"]);
 * flags.string("topic"); // "logins"
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  description: string;
  /** Placeholder shown in --help, e.g. "N" in `--count N`. */
  value?: string;
  short?: string;
  multiple?: boolean;
  /** Shown in --help; getters take their own fallback. */
  defaultText?: string;
}

export interface ToolSpec<Options extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  name: string;
  summary: string;
  /** Paragraphs printed under the usage line. */
  description?: string[];
  options: Options;
  examples: string[];
}

/** Flags every tool accepts. */
export const COMMON_OPTIONS = {
  config: { type: "string", value: "PATH", description: "Configuration file", defaultText: "./database.ini" },
  "log-level": { type: "string", value: "LEVEL", description: "debug, info, warn or error", defaultText: "info" },
  "log-format": {
    type: "string",
    value: "FORMAT",
    description: "pretty or json",
    defaultText: "pretty on a terminal, json otherwise",
  },
  "log-dir": {
    type: "string",
    value: "DIR",
    description: "Where the per-run log file goes; 'none' for no file",
    defaultText: "logs",
  },
  help: { type: "boolean", short: "h", description: "Show this help" },
} satisfies Record<string, OptionSpec>;

/** Flags every tool may read: its own and the common ones. */
export type FlagName<Spec> = Spec extends ToolSpec<infer Options> ? Extract<keyof Options | keyof typeof COMMON_OPTIONS, string> : string;

/** Declares a tool; its getters then accept only the flag names it declares (a typo is a type error). */
export function defineTool<const Options extends Record<string, OptionSpec>>(spec: ToolSpec<Options>): ToolSpec<Options> {
  return spec;
}

/**
 * Typed access to parsed flags. Every getter names the flag when it fails;
 * `Name` is the set of declared flag names (see {@link defineTool}).
 */
export interface Flags<Name extends string = string> {
  has(name: Name): boolean;
  string(name: Name): string | undefined;
  string(name: Name, fallback: string): string;
  list(name: Name): string[];
  bool(name: Name): boolean;
  int(name: Name, fallback: number, range?: { min?: number; max?: number }): number;
  int(name: Name, fallback?: undefined, range?: { min?: number; max?: number }): number | undefined;
  number(name: Name, fallback: number, range?: { min?: number; max?: number }): number;
  choice<T extends string>(name: Name, choices: readonly T[], fallback: T): T;
}

type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Parses argv against a tool's options plus the common ones. */
export function parseFlags<Spec extends ToolSpec<Record<string, OptionSpec>>>(spec: Spec, argv: string[]): Flags<FlagName<Spec>> {
  const options: Record<string, OptionSpec> = { ...COMMON_OPTIONS, ...spec.options };
  let values: ParsedValues;
  try {
    values = parseArgs({
      args: joinNegativeValues(argv, options),
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          { type: o.type, multiple: o.multiple ?? false, ...(o.short ? { short: o.short } : {}) },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    }).values as ParsedValues;
  } catch (error) {
    throw translateParseError(error);
  }
  return flagsFrom(values);
}

/**
 * `-o -10` and `--offset -10`: parseArgs takes a value starting with '-' for a
 * flag, as kcat users write negative offsets. A negative number after a flag
 * that takes a value is joined to it (`--offset=-10`).
 */
function joinNegativeValues(argv: string[], options: Record<string, OptionSpec>): string[] {
  const takesValue = (arg: string) => {
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    if (long) return options[long]?.type === "string" ? long : undefined;
    const short = /^-([^-])$/.exec(arg)?.[1];
    return short ? Object.entries(options).find(([, o]) => o.short === short && o.type === "string")?.[0] : undefined;
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = takesValue(argv[i]!);
    const next = argv[i + 1];
    if (name && next !== undefined && /^-\d+(\.\d+)?$/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

function translateParseError(error: unknown): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = /'(-{1,2}[^'\s]+)/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new UsageError(`unknown flag ${flag ?? message} (see --help)`);
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return /argument missing|requires a value/i.test(message) || /<value>/.test(message)
      ? new UsageError(`flag ${flag ?? ""} needs a value`.replace(/\s+$/, ""))
      : new UsageError(`flag ${flag ?? ""} takes no value`);
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const arg = /'([^']+)'/.exec(message)?.[1];
    return new UsageError(`unexpected argument '${arg ?? message}' (flags only; see --help)`);
  }
  return new UsageError(message.split("\n")[0] ?? "invalid arguments");
}

function flagsFrom(values: ParsedValues): Flags {
  const raw = (name: string): string | undefined => {
    const v = values[name];
    if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
    return typeof v === "string" ? v : undefined;
  };
  const parseNumber = (name: string, integer: boolean, range?: { min?: number; max?: number }): number | undefined => {
    const text = raw(name);
    if (text === undefined) return undefined;
    const n = Number(text);
    const kind = integer ? "a whole number" : "a number";
    if (text.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new UsageError(`--${name} must be ${kind}, got '${text}'`);
    }
    if (range?.min !== undefined && n < range.min) throw new UsageError(`--${name} must be >= ${range.min}, got ${text}`);
    if (range?.max !== undefined && n > range.max) throw new UsageError(`--${name} must be <= ${range.max}, got ${text}`);
    return n;
  };

  return {
    has: (name) => values[name] !== undefined,
    string: ((name: string, fallback?: string) => raw(name) ?? fallback) as Flags["string"],
    list: (name) => {
      const v = values[name];
      if (v === undefined) return [];
      return (Array.isArray(v) ? v : [v]).map(String);
    },
    bool: (name) => values[name] === true,
    int: ((name: string, fallback?: number, range?: { min?: number; max?: number }) =>
      parseNumber(name, true, range) ?? fallback) as Flags["int"],
    number: (name, fallback, range) => parseNumber(name, false, range) ?? fallback,
    choice: (name, choices, fallback) => {
      const text = raw(name);
      if (text === undefined) return fallback;
      const match = choices.find((c) => c === text);
      if (!match) throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got '${text}'`);
      return match;
    },
  };
}
