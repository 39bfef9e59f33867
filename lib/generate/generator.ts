/**
 * Test messages ready for kafkajs: user-login events (seeds 001/004), items
 * (seed 003) or fixed-size raw values, with a chosen key, optionally mixed
 * with malformed messages. With a seed the output is fully reproducible,
 * timestamps included.
 *
 * @example
 * const generator = createGenerator({ kind: "item", key: "field", seed: 7, badRatio: 0.1 });
 * const messages = generator.batch(1000); // [{ key, value, headers, bad? }, ...]
 * await producer.send({ topic: "items", messages });
 */
import { badValue, BAD_KINDS, type BadKind } from "./bad.ts";
import { itemMessage } from "./item.ts";
import { createRandom, randomSeed, type Random } from "./random.ts";
import { createRawValues, RAW_MIN_SIZE } from "./raw.ts";
import { userLoginEvent } from "./user-login.ts";
import { userLoginMixMessage, type MixOutcome } from "./user-login-mix.ts";

export const GENERATOR_KINDS = ["user-login", "user-login-mix", "item", "raw"] as const;
export type GeneratorKind = (typeof GENERATOR_KINDS)[number];

/**
 * uuid: a random UUID; field: user_id (user-login), id (item), seq (raw);
 * none: no key. Items default to field, so key and id are the same UUID as in
 * seed 003; the others default to uuid.
 */
export const KEY_MODES = ["uuid", "field", "none"] as const;
export type KeyMode = (typeof KEY_MODES)[number];

/** Where seeded runs start their clock: the timestamp of seed 001's example event. */
export const SEEDED_EPOCH_MS = 1_742_331_926_000;

export interface GeneratorOptions {
  kind: GeneratorKind;
  key?: KeyMode;
  seed?: number;
  /** Value size in bytes for `raw`; at least {@link RAW_MIN_SIZE}. */
  size?: number;
  /** Share of malformed messages, 0..1. */
  badRatio?: number;
  /**
   * Time of message `index` in ms. Defaults to the wall clock, or with a seed
   * to {@link SEEDED_EPOCH_MS} plus one ms per message, so that the seed
   * alone decides every byte.
   */
  clock?: (index: number) => number;
  /**
   * Writes good values in a binary format (Confluent-framed Avro) instead of
   * JSON; malformed messages then come from `bad` instead of the JSON kinds.
   */
  encoding?: ValueEncoding;
}

/** A non-JSON value format for the generator: good values, and its own kinds of malformed ones. */
export interface ValueEncoding {
  encode(value: Record<string, unknown>): Buffer;
  badKinds: readonly string[];
  bad(kind: string, value: Record<string, unknown>): Buffer;
}

export interface GeneratedMessage {
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
  /** Set on malformed messages; not sent to Kafka (kafkajs ignores unknown fields). */
  bad?: BadKind | string;
  /** user-login-mix: the variant and what the user-login pipeline makes of it (not sent either). */
  variant?: string;
  outcome?: MixOutcome;
}

export interface Generator {
  next(): GeneratedMessage;
  batch(count: number): GeneratedMessage[];
  /** Messages made so far. */
  readonly count: number;
}

interface GoodMessage {
  value: Record<string, unknown>;
  keyField: string;
  headers?: Record<string, string>;
}

interface Format {
  required: readonly string[];
  make(index: number, timeMs: number): GoodMessage;
}

export function createGenerator(options: GeneratorOptions): Generator {
  const random = createRandom(options.seed ?? randomSeed());
  const format = formatFor(options, random);
  const keyMode = options.key ?? defaultKeyMode(options.kind);
  const badRatio = options.badRatio ?? 0;
  if (options.kind === "user-login-mix" && badRatio > 0) throw new RangeError("user-login-mix has its own share of malformed messages; badRatio must be 0");
  if (!(badRatio >= 0 && badRatio <= 1)) throw new RangeError("badRatio must be within 0..1");
  const clock = options.clock ?? (options.seed === undefined ? () => Date.now() : (i) => SEEDED_EPOCH_MS + i);
  let index = 0;

  const next = (): GeneratedMessage => {
    if (options.kind === "user-login-mix") {
      const mix = userLoginMixMessage(random, clock(index));
      index++;
      const key = keyMode === "none" ? null : keyMode === "uuid" ? random.uuid() : mix.key;
      return { key, value: mix.value, variant: mix.variant, outcome: mix.outcome, ...(mix.bad ? { bad: mix.bad } : {}) };
    }
    const good = format.make(index, clock(index));
    index++;
    const key = keyMode === "none" ? null : keyMode === "uuid" ? random.uuid() : good.keyField;
    const headers = good.headers ? { headers: good.headers } : {};
    const encoding = options.encoding;
    if (badRatio > 0 && random.next() < badRatio) {
      if (encoding) {
        const bad = random.pick(encoding.badKinds);
        return { key, value: encoding.bad(bad, good.value), ...headers, bad };
      }
      const bad = random.pick(BAD_KINDS);
      return { key, value: badValue(bad, good.value, format.required, random), ...headers, bad };
    }
    return { key, value: encoding ? encoding.encode(good.value) : Buffer.from(JSON.stringify(good.value)), ...headers };
  };

  return {
    next,
    batch(count) {
      const out = new Array<GeneratedMessage>(count);
      for (let i = 0; i < count; i++) out[i] = next();
      return out;
    },
    get count() {
      return index;
    },
  };
}

function defaultKeyMode(kind: GeneratorKind): KeyMode {
  return kind === "item" ? "field" : "uuid";
}

function formatFor(options: GeneratorOptions, random: Random): Format {
  switch (options.kind) {
    case "user-login":
    case "user-login-mix":
      return {
        required: ["user_id", "app_version", "ip", "locale", "device_id", "timestamp", "device_type"],
        make: (_index, timeMs) => {
          const event = userLoginEvent(random, timeMs);
          return { value: event, keyField: event.user_id };
        },
      };
    case "item":
      return {
        required: ["id", "name", "created_at"],
        make: (_index, timeMs) => {
          const item = itemMessage(random, timeMs);
          return { value: item.value, keyField: item.value.id, headers: item.headers };
        },
      };
    case "raw": {
      const rawValue = createRawValues(random, options.size ?? 1024);
      return {
        required: ["seq", "pad"],
        make: (index) => {
          const value = rawValue(index);
          return { value, keyField: String(value.seq) };
        },
      };
    }
  }
}

export { BAD_KINDS, RAW_MIN_SIZE, type BadKind };
