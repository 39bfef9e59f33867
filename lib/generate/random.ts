/**
 * Seeded randomness for test data: mulberry32, small and fast, so the same
 * seed always yields the same messages on every machine and run.
 *
 * @example
 * const random = createRandom(42);
 * random.int(1, 6);        // same number for seed 42, every time
 * random.uuid();           // RFC 4122 version 4 shaped
 * random.digits(8);        // "04718263"
 */

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** A 32-bit unsigned integer. */
  uint32(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  uuid(): string;
  /** `count` decimal digits, leading zeros kept. */
  digits(count: number): string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = () => uint32() / 4294967296;
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));

  return {
    next,
    uint32,
    int,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[int(0, items.length - 1)] as T;
    },
    uuid() {
      const bytes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const word = uint32();
        bytes.push(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
      }
      const b = (i: number) => bytes[i] as number;
      const h = (i: number) => HEX[b(i)];
      const version = HEX[(b(6) & 0x0f) | 0x40];
      const variant = HEX[(b(8) & 0x3f) | 0x80];
      return (
        `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${version}${h(7)}-${variant}${h(9)}-` +
        `${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`
      );
    },
    digits(count) {
      let out = "";
      while (out.length < count) out += String(uint32() % 1_000_000_000).padStart(9, "0");
      return out.slice(0, count);
    },
  };
}

/** A seed for runs without --seed; only reproducibility needs a chosen one. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
}
