/**
 * Converts between kafkajs' headers and header pairs in wire order, the form
 * the envelope uses (lib/kafka/envelope.ts). The patched kafkajs
 * (patches/kafkajs+2.2.4.patch) reads and writes `headerList`, the headers as
 * written: order, repeated names and null values kept, and a name as bytes
 * when it is not valid UTF-8.
 *
 * @example
 * headerPairs({ headerList: [{ key: "a", value: Buffer.from("1") }, { key: "b", value: null }] }); // [["a", <1>], ["b", null]]
 * kafkaHeaderList([["a", Buffer.from("1")]]);                                                     // [{ key: "a", value: <1> }]
 */
import type { IHeaderEntry, IHeaders } from "kafkajs";
import type { HeaderPairs } from "./envelope.ts";

const bytes = (value: Buffer | string) => (Buffer.isBuffer(value) ? value : Buffer.from(value, "utf8"));

/** A message's headers as pairs: its headerList, or (an unpatched client) the object form, grouped by name. */
export function headerPairs(message: { headers?: IHeaders; headerList?: readonly IHeaderEntry[] }): HeaderPairs {
  if (message.headerList) return message.headerList.map(({ key, value }) => [key, value === null ? null : bytes(value)]);
  const pairs: HeaderPairs = [];
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) pairs.push([name, one === undefined ? null : bytes(one)]);
  }
  return pairs;
}

/** Pairs as the patched kafkajs writes them, in this order. */
export function kafkaHeaderList(pairs: HeaderPairs): IHeaderEntry[] {
  return pairs.map(([key, value]) => ({ key, value }));
}
