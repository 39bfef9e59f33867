/**
 * database.ini as Python's configparser reads it (the scripts this toolkit
 * replaces use `ConfigParser().read()` and `items(section)`), so one file
 * serves both:
 *
 * - `key = value` or `key: value`; keys are lower-cased, values trimmed.
 * - `#` and `;` start a comment only at the start of a line: inside a value
 *   they are part of it (`password = pa#ss;word`).
 * - A section name is everything between `[` and the last `]`, dots included
 *   (`[prod.kafka]`).
 * - An indented line continues the value above it (joined with a newline).
 * - `[DEFAULT]` keys apply to every section unless the section sets them.
 * - Interpolation as BasicInterpolation: `%%` is a literal `%`,
 *   `%(key)s` is another key of the same section. Any other `%`, which
 *   configparser refuses, is kept as written (URL-encoded passwords).
 * - A key or section given twice, or a key without a value, is an error.
 *
 * @example
 * const { sections, defaults } = parseIni("[prod.kafka]\npassword = pa#ss;word\n", "database.ini");
 * interpolateSection({ ...defaults, ...sections["prod.kafka"] }, "database.ini: [prod.kafka]");
 * // { password: "pa#ss;word" }
 */
import { ConfigError } from "../errors.ts";

export interface IniFile {
  /** Each section's own keys, uninterpolated. */
  sections: Record<string, Record<string, string>>;
  /** The [DEFAULT] section's keys, which every section sees unless it sets them. */
  defaults: Record<string, string>;
}

const DEFAULT_SECTION = "DEFAULT";
const MAX_INTERPOLATION_DEPTH = 10;

export function parseIni(text: string, path: string): IniFile {
  const raw = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  let sectionName = "";
  let lastKey: string | undefined;
  let lastIndent = 0;
  let blankLines = 0;
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const where = `${path}:${i + 1}`;
    const trimmed = line.trim();
    const indent = line.length - line.trimStart().length;
    if (trimmed === "") {
      blankLines++;
      continue;
    }
    if (trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
    if (section && lastKey !== undefined && indent > lastIndent) {
      // configparser keeps blank lines inside a continued value.
      section.set(lastKey, `${section.get(lastKey)}${"\n".repeat(blankLines + 1)}${trimmed}`);
      blankLines = 0;
      continue;
    }
    blankLines = 0;
    const header = /^\[(.+)\]/.exec(trimmed);
    if (header && indent === 0) {
      sectionName = header[1]!;
      if (raw.has(sectionName)) throw new ConfigError(`${where}: section [${sectionName}] appears twice`);
      section = new Map();
      raw.set(sectionName, section);
      lastKey = undefined;
      continue;
    }
    const delimiter = line.search(/[=:]/);
    const key = line.slice(0, delimiter).trim().toLowerCase();
    // Only the key is named: the line may hold a password (the line number locates it).
    if (!section) {
      throw new ConfigError(`${where}: ${delimiter < 0 ? "a line" : `key '${key}'`} is outside any [section]`);
    }
    if (delimiter < 0) throw new ConfigError(`${where}: [${sectionName}] a line has no value (write key = value; a value can continue on indented lines)`);
    if (key === "") throw new ConfigError(`${where}: [${sectionName}] a line starts with '${line[delimiter]}' and has no key`);
    if (section.has(key)) throw new ConfigError(`${where}: [${sectionName}] key '${key}' appears twice`);
    section.set(key, line.slice(delimiter + 1).trim());
    lastKey = key;
    lastIndent = indent;
  }

  const defaults = Object.fromEntries(raw.get(DEFAULT_SECTION) ?? []);
  const sections: Record<string, Record<string, string>> = {};
  for (const [name, values] of raw) if (name !== DEFAULT_SECTION) sections[name] = Object.fromEntries(values);
  return { sections, defaults };
}

/**
 * A section's values with `%%` and `%(key)s` resolved, as configparser's
 * `items(section)` gives them. Done per section a tool reads, as Python does,
 * so a stray `%` elsewhere in the file breaks nothing.
 */
export function interpolateSection(values: Record<string, string>, where: string): Record<string, string> {
  const map = new Map(Object.entries(values));
  return Object.fromEntries([...map.keys()].map((key) => [key, interpolate(map, key, `${where} ${key}`, 0)]));
}

function interpolate(values: Map<string, string>, key: string, where: string, depth: number): string {
  if (depth > MAX_INTERPOLATION_DEPTH) throw new ConfigError(`${where}: interpolation nested too deep (a key refers to itself?)`);
  const value = values.get(key) ?? "";
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (char !== "%") {
      out += char;
      continue;
    }
    const next = value[i + 1];
    if (next === "%") {
      out += "%";
      i++;
      continue;
    }
    const reference = next === "(" ? /^\(([^)]+)\)s/.exec(value.slice(i + 1)) : null;
    if (!reference) {
      // configparser refuses the file here; keeping the % reads files it
      // accepts identically and URL-encoded passwords (s%40cret) as written.
      out += "%";
      continue;
    }
    const name = reference[1]!.toLowerCase();
    if (!values.has(name)) throw new ConfigError(`${where}: %(${reference[1]})s names no key of the section`);
    out += interpolate(values, name, where, depth + 1);
    i += reference[0].length;
  }
  return out;
}
