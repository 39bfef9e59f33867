/**
 * Fixed-size values for throughput tests: a JSON object padded so that its
 * encoded value is exactly `size` bytes. JSON rather than arbitrary bytes so
 * the same data also flows through tools that parse it (kafka2mongo).
 *
 * @example
 * const raw = createRawValues(createRandom(1), 1024);
 * JSON.stringify(raw(7)).length; // 1024, as { seq: 7, pad: "q3Xk..." }
 */
import type { Random } from "./random.ts";

/** Room for the envelope `{"seq":N,"pad":""}` with a 15-digit sequence number. */
export const RAW_MIN_SIZE = 32;

const ENVELOPE_BYTES = `{"seq":,"pad":""}`.length;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
// Padding is cut from one random pool at a random offset: random enough to
// defeat trivial compression, without a PRNG call per byte.
const POOL_SLACK = 4096;

export type RawValue = { seq: number; pad: string };

export function createRawValues(random: Random, size: number): (seq: number) => RawValue {
  if (!Number.isInteger(size) || size < RAW_MIN_SIZE) throw new RangeError(`raw size must be >= ${RAW_MIN_SIZE}`);
  let pool = "";
  for (let i = 0; i < size + POOL_SLACK; i++) pool += ALPHABET[random.uint32() % ALPHABET.length];
  return (seq) => {
    const padLength = Math.max(0, size - ENVELOPE_BYTES - String(seq).length);
    const start = random.int(0, POOL_SLACK);
    return { seq, pad: pool.slice(start, start + padLength) };
  };
}
