/**
 * Input lines to messages for `topic-cat --produce`: a plain line is a value
 * (with `--key-delimiter`, `key<delim>value` as kcat -K), a JSON line is an
 * envelope as topic-cat dumps it (lib/kafka/envelope.ts). Headers from
 * `--headers` go on every plain line's message.
 *
 * @example
 * const toMessage = lineParser({ format: "line", keyDelimiter: ":", headers: parseHeadersFlag("src=cli") });
 * toMessage("u1:{\"a\":1}", "stdin:1"); // { key: <u1>, value: <{"a":1}>, headers: [["src", <cli>]] }
 */
import { UsageError } from "../errors.ts";
import { parseEnvelope, type EnvelopeMessage, type HeaderPairs } from "../kafka/envelope.ts";

/** Parses `name=value,name=value` (kcat -H, repeatable there); a value may contain '='. */
export function parseHeadersFlag(text: string, flag = "--headers"): HeaderPairs {
  if (text.trim() === "") return [];
  return text.split(",").map((item) => {
    const eq = item.indexOf("=");
    const name = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0 || name === "") throw new UsageError(`${flag}: '${item}' is not name=value`);
    return [name, Buffer.from(item.slice(eq + 1), "utf8")];
  });
}

export interface LineFormat {
  format: "line" | "json";
  /** Splits a plain line into key and value at its first occurrence; a line without it has no key. */
  keyDelimiter?: string;
  /** Added to every plain line's message. */
  headers: HeaderPairs;
}

/** A parser of one input line; `where` (file:line) names the line in errors. */
export function lineParser(options: LineFormat): (line: string, where: string) => EnvelopeMessage {
  if (options.format === "json") return (line, where) => parseEnvelope(line, where);
  const { keyDelimiter, headers } = options;
  return (line) => {
    const at = keyDelimiter ? line.indexOf(keyDelimiter) : -1;
    return {
      key: at < 0 ? null : Buffer.from(line.slice(0, at), "utf8"),
      value: Buffer.from(at < 0 ? line : line.slice(at + keyDelimiter!.length), "utf8"),
      headers,
    };
  };
}
