/**
 * Converts between kafkajs' message headers (an object: a repeated name
 * becomes an array under that name) and header pairs in wire order, the
 * form the envelope uses (lib/kafka/envelope.ts).
 *
 * With kafkajs 2.2.4 as released, the object loses the order between
 * different names (a, b, a reads back as a, a, b), and a null value cannot be
 * sent; pairs without interleaved repeats round-trip exactly. Both functions
 * are the one place to change once the client keeps the wire order.
 *
 * @example
 * headerPairs({ a: [Buffer.from("1"), Buffer.from("2")], b: Buffer.from("3") }); // [["a", <1>], ["a", <2>], ["b", <3>]]
 * kafkaHeaders([["a", Buffer.from("1")], ["a", Buffer.from("2")]]);            // { a: [<1>, <2>] }
 */
import type { IHeaders } from "kafkajs";
import type { HeaderPairs } from "./envelope.ts";

export function headerPairs(headers: IHeaders | undefined): HeaderPairs {
  const pairs: HeaderPairs = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      pairs.push([name, one === undefined || one === null ? null : Buffer.isBuffer(one) ? one : Buffer.from(one, "utf8")]);
    }
  }
  return pairs;
}

/** kafkajs 2.2.4 cannot send a header with a null value (its size computation throws). */
export class NullHeaderError extends Error {
  override name = "NullHeaderError";
}

export function kafkaHeaders(pairs: HeaderPairs): IHeaders {
  const headers: Record<string, Buffer[]> = {};
  for (const [name, value] of pairs) {
    if (value === null) throw new NullHeaderError(`header '${name}' has a null value, which kafkajs 2.2.4 cannot send`);
    (headers[name] ??= []).push(value);
  }
  return Object.fromEntries(Object.entries(headers).map(([name, values]) => [name, values.length === 1 ? values[0]! : values]));
}
