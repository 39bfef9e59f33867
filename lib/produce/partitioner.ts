/**
 * kafkajs' default partitioner (Java client compatible: murmur2 of the key,
 * round robin without a key), rewritten with 32-bit integer math. kafkajs
 * hashes through its Long emulation, which took about a quarter of the CPU
 * of a keyed 1 KB load test; the partitions chosen are the same.
 *
 * @example
 * const producer = kafka.producer({ createPartitioner: fastDefaultPartitioner });
 * murmur2(Buffer.from("21")); // -973932308, as Kafka's Utils.murmur2
 */
import type { ICustomPartitioner } from "kafkajs";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
// Keys are encoded into this buffer instead of a new one per message.
const scratch = Buffer.alloc(4096);

/** Kafka's murmur2 of a key's bytes, as a signed 32-bit integer. */
export function murmur2(key: Buffer | string): number {
  let data: Uint8Array = key as Buffer;
  let length = key.length;
  if (typeof key === "string") {
    // UTF-8 needs at most 3 bytes per UTF-16 unit, so a short key always fits.
    data = key.length * 3 <= scratch.length ? scratch : Buffer.from(key, "utf8");
    length = data === scratch ? scratch.write(key, 0, "utf8") : data.length;
  }

  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) | 0;
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[whole + 2]! << 16;
    if (tail >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const toPositive = (n: number) => n & 0x7fffffff;

export const fastDefaultPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return toPositive(murmur2(message.key)) % partitionMetadata.length;
    const counter = (counters.get(topic) ?? Math.floor(Math.random() * 2 ** 31)) + 1;
    counters.set(topic, counter);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length === 0) return toPositive(counter) % partitionMetadata.length;
    return available[toPositive(counter) % available.length]!.partitionId;
  };
};
