/**
 * How topic-cat prints messages: JSON envelopes, raw values, or kcat's `-f`
 * output templates: `%t %p %o %k %s\n` and the
 * rest of kcat's tokens, compiled once and rendered to bytes per message, so
 * binary keys and values are printed as they are.
 *
 * Tokens: %t topic, %p partition, %o offset, %k key, %K key length, %s value,
 * %S value length, %R value length as a 4-byte big-endian integer, %T
 * timestamp (epoch ms), %h headers as name=value,..., %% a percent sign.
 * Escapes: \n \r \t \\ and \xHH. Lengths are -1 for null; a null key or value
 * prints nothing. As in kcat, nothing is added: end the template with \n.
 *
 * @example
 * const render = compileTemplate("%t [%p] @%o: %k=%s\\n");
 * process.stdout.write(render(message)); // "logins [0] @42: u1={...}\n"
 * const print = messageRenderer("json", jsonValueDecoder); // one envelope a line, JSON values decoded
 */
import type { AvroDecoder } from "../avro/decoder.ts";
import { toJsonValue } from "../avro/json.ts";
import { UsageError } from "../errors.ts";
import { envelopeLine, type CatMessage, type DecodedValue } from "../kafka/envelope.ts";

type Part = Buffer | ((m: CatMessage) => Buffer);

const text = (s: string | number) => Buffer.from(String(s), "utf8");
const length = (b: Buffer | null) => (b === null ? -1 : b.length);

const TOKENS: Record<string, (m: CatMessage) => Buffer> = {
  t: (m) => text(m.topic),
  p: (m) => text(m.partition),
  o: (m) => text(m.offset),
  k: (m) => m.key ?? Buffer.alloc(0),
  K: (m) => text(length(m.key)),
  s: (m) => m.value ?? Buffer.alloc(0),
  S: (m) => text(length(m.value)),
  R: (m) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(length(m.value));
    return b;
  },
  T: (m) => text(m.timestamp),
  h: (m) => Buffer.concat(m.headers.flatMap(([name, value], i) => [text(i ? "," : ""), typeof name === "string" ? text(name) : name, text("="), value ?? Buffer.alloc(0)])),
};

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\" };

/** Compiles a template; an unknown token or escape is a UsageError naming it. */
export function compileTemplate(template: string, flag = "--format"): (message: CatMessage) => Buffer {
  const parts: Part[] = [];
  let literal = "";
  const flush = () => {
    if (literal) parts.push(Buffer.from(literal, "utf8"));
    literal = "";
  };
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    const next = template[i + 1];
    if (c === "%") {
      if (next === "%") literal += "%";
      else if (next !== undefined && TOKENS[next]) {
        flush();
        parts.push(TOKENS[next]!);
      } else throw new UsageError(`${flag}: unknown token '%${next ?? ""}' (tokens: %t %p %o %k %K %s %S %R %T %h %%)`);
      i++;
    } else if (c === "\\") {
      if (next !== undefined && ESCAPES[next]) {
        literal += ESCAPES[next];
        i++;
      } else if (next === "x" && /^[0-9a-fA-F]{2}$/.test(template.slice(i + 2, i + 4))) {
        flush();
        parts.push(Buffer.from([parseInt(template.slice(i + 2, i + 4), 16)]));
        i += 3;
      } else throw new UsageError(`${flag}: unknown escape '\\${next ?? ""}' (escapes: \\n \\r \\t \\\\ \\xHH)`);
    } else literal += c;
  }
  flush();
  return (message) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : p(message))));
}

/** Decodes a value for --value-format; undefined leaves it as bytes (a null value). */
export type ValueDecoder = (value: Buffer | null) => DecodedValue | undefined;

/**
 * How topic-cat prints each message: "json" (one envelope a line), "value"
 * (the value and a newline, kcat's default), or else a kcat -f template.
 * With a decoder, JSON lines carry the decoded value and a template's %s
 * prints its JSON text (the bytes when it does not decode).
 */
export function messageRenderer(format: string, decode?: ValueDecoder): (message: CatMessage) => Buffer {
  if (format === "json") return (m) => Buffer.from(`${envelopeLine(m, decode?.(m.value))}\n`, "utf8");
  const render = compileTemplate(format === "value" ? "%s\\n" : format);
  if (!decode) return render;
  return (m) => {
    const decoded = decode(m.value);
    return render(decoded && "json" in decoded ? { ...m, value: Buffer.from(decoded.json, "utf8") } : m);
  };
}

// ignoreBOM: a BOM is part of the bytes, and makes the text not JSON.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** --value-format json: the value's own text when it is JSON, so no digit is lost. */
export const jsonValueDecoder: ValueDecoder = (value) => {
  if (value === null) return undefined;
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { error: "not UTF-8" };
  }
  try {
    JSON.parse(text);
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
  // Outside strings (where JSON allows no raw line break) a line break is whitespace.
  return { format: "json", json: text.replace(/\r?\n|\r/g, " ") };
};

/** --value-format avro: Confluent-framed Avro decoded with prepared writer schemas, as JSON. */
export function avroValueDecoder(avro: AvroDecoder): ValueDecoder {
  return (value) => {
    if (value === null) return undefined;
    try {
      const decoded = avro.decode(value);
      return { format: "avro", json: JSON.stringify(toJsonValue(decoded.value)), schemaId: decoded.schemaId };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
}
