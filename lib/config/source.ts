/**
 * Reads database.ini (as Python's configparser does, see ini.ts) and
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
import { ConfigError } from "../errors.ts";
import { interpolateSection, parseIni } from "./ini.ts";

export const DEFAULT_CONFIG_PATH = "database.ini";

/** A parsed configuration file plus the environment it is read with. */
export interface ConfigSource {
  path: string;
  sections: Record<string, Record<string, string>>;
  /** [DEFAULT] keys: every section sees those it knows, unless it sets them itself. */
  defaults?: Record<string, string>;
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
  const { sections, defaults } = parseIni(text, path);
  return { path, sections, defaults, env };
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
  const own = source.sections[section];
  const inherited = Object.entries(source.defaults ?? {}).filter(([key]) => knownKeys.includes(key) && !(own && key in own));
  const resolved = own && interpolateSection({ ...source.defaults, ...own }, `${source.path}: [${section}]`);
  const fromFile = own && resolved && Object.fromEntries([...Object.keys(own), ...inherited.map(([key]) => key)].map((key) => [key, resolved[key]!]));
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
