/**
 * Reads database.ini (the format of the systems this toolkit replaces) and
 * merges environment overrides into the section a tool asks for.
 *
 * Precedence is CLI flag > environment variable > file; flags are applied by
 * the tools, this module does the last two. The variable for a key is
 * `KT_<SECTION>_<KEY>` in upper case: `[remote_kafka] password` is
 * `KT_REMOTE_KAFKA_PASSWORD`.
 *
 * @example
 * const source = loadConfigSource("database.ini");
 * const raw = sectionValues(source, "local_kafka", ["servers", "client_id"]);
 */
import { readFileSync } from "node:fs";
import { parse } from "ini";
import { ConfigError } from "../errors.ts";

export const DEFAULT_CONFIG_PATH = "database.ini";

/** A parsed configuration file plus the environment it is read with. */
export interface ConfigSource {
  path: string;
  sections: Record<string, Record<string, unknown>>;
  env: Record<string, string | undefined>;
}

/** Reads and parses an INI file; a missing or unreadable file is a ConfigError. */
export function loadConfigSource(
  path: string = DEFAULT_CONFIG_PATH,
  env: Record<string, string | undefined> = process.env,
): ConfigSource {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    const hint = path === DEFAULT_CONFIG_PATH ? "; copy database.ini.example to database.ini or pass --config PATH" : "";
    throw new ConfigError(`${path}: cannot read config file (${code})${hint}`);
  }
  const parsed = parse(text) as Record<string, unknown>;
  const sections: Record<string, Record<string, unknown>> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      sections[name] = value as Record<string, unknown>;
    } else {
      throw new ConfigError(`${path}: key '${name}' is outside any [section]`);
    }
  }
  return { path, sections, env };
}

/** The environment variable that overrides `key` of `section`. */
export function envVarName(section: string, key: string): string {
  return `KT_${section}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

/**
 * The values of one section with environment overrides applied. Keys not in
 * `knownKeys` are refused so a typo such as `pasword` is not silently ignored.
 */
export function sectionValues(
  source: ConfigSource,
  section: string,
  knownKeys: readonly string[],
): Record<string, string> {
  const fromFile = source.sections[section];
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(fromFile ?? {})) {
    if (!knownKeys.includes(key)) {
      throw new ConfigError(`${source.path}: [${section}] unknown key '${key}' (known: ${knownKeys.join(", ")})`);
    }
    values[key] = String(value);
  }
  for (const key of knownKeys) {
    const override = source.env[envVarName(section, key)];
    if (override !== undefined) values[key] = override;
  }
  if (fromFile === undefined && Object.keys(values).length === 0) {
    const known = Object.keys(source.sections);
    throw new ConfigError(
      `${source.path}: no section [${section}] (sections: ${known.length ? known.join(", ") : "none"})`,
    );
  }
  return values;
}
