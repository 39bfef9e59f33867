import { describe, expect, test } from "bun:test";
import { BAD_KINDS, createGenerator, GENERATOR_KINDS, SEEDED_EPOCH_MS, type GeneratedMessage } from "../../lib/generate/generator.ts";
import { itemSchema } from "../../lib/generate/item.ts";
import { createRandom } from "../../lib/generate/random.ts";
import { RAW_MIN_SIZE } from "../../lib/generate/raw.ts";
import { userLoginSchema } from "../../lib/generate/user-login.ts";
import { decodeValue } from "../../lib/inspect/decode-value.ts";
import { MESSAGE_SCHEMAS, schemaReasons } from "../../lib/inspect/schemas.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const json = (m: GeneratedMessage) => JSON.parse(m.value.toString("utf8"));

describe("seeded random", () => {
  test("same seed, same sequence; another seed, another", () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const take = (r: ReturnType<typeof createRandom>) => Array.from({ length: 5 }, () => r.uint32());
    const first = take(a);
    expect(take(b)).toEqual(first);
    expect(take(c)).not.toEqual(first);
  });

  test("uuid, digits and int stay in shape", () => {
    const random = createRandom(1);
    for (let i = 0; i < 200; i++) {
      expect(random.uuid()).toMatch(UUID);
      expect(random.digits(8)).toMatch(/^\d{8}$/);
      const n = random.int(3, 5);
      expect(n >= 3 && n <= 5).toBe(true);
    }
  });
});

describe("generators", () => {
  test.each(GENERATOR_KINDS)("%s: same seed gives byte-identical messages", (kind) => {
    // user-login-mix brings its own share of malformed messages.
    const badRatio = kind === "user-login-mix" ? 0 : 0.3;
    const a = createGenerator({ kind, seed: 7, badRatio }).batch(300);
    const b = createGenerator({ kind, seed: 7, badRatio }).batch(300);
    const c = createGenerator({ kind, seed: 8, badRatio }).batch(300);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  test("user-login events match seed 001's shape and the schema", () => {
    const messages = createGenerator({ kind: "user-login", seed: 1 }).batch(500);
    for (const m of messages) {
      const event = json(m);
      expect(Object.keys(event).sort()).toEqual(
        ["app_version", "device_id", "device_type", "ip", "locale", "timestamp", "user_id"].sort(),
      );
      expect(userLoginSchema.safeParse(event).success).toBe(true);
      expect(event.device_id).toMatch(UUID);
      expect(m.key).toMatch(UUID);
    }
    // Seeded runs start at seed 001's example time, in unix seconds.
    expect(json(messages[0] as GeneratedMessage).timestamp).toBe(SEEDED_EPOCH_MS / 1000);
  });

  test("item messages follow seed 003: UUID key equal to id, name item_ + 8 digits, headers", () => {
    for (const m of createGenerator({ kind: "item", seed: 3 }).batch(500)) {
      const item = json(m);
      expect(itemSchema.safeParse(item).success).toBe(true);
      expect(item.name).toMatch(/^item_\d{8}$/);
      expect(item.id).toMatch(UUID);
      expect(m.key).toBe(item.id);
      expect(item.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(m.headers).toEqual({ "content-type": "application/json", created_at: item.created_at });
      expect(typeof item.metadata.source).toBe("string");
      expect(item.metadata.version).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  test("raw values are JSON of exactly --size bytes", () => {
    for (const size of [RAW_MIN_SIZE, 100, 1024, 10_000]) {
      const generator = createGenerator({ kind: "raw", seed: 1, size });
      const messages = [...generator.batch(20), ...Array.from({ length: 3 }, () => generator.next())];
      for (const m of messages) {
        expect(m.value.length).toBe(size);
        expect(typeof json(m).seq).toBe("number");
      }
    }
    expect(() => createGenerator({ kind: "raw", size: RAW_MIN_SIZE - 1 })).toThrow();
  });

  test("key modes: uuid, field, none", () => {
    const [login] = createGenerator({ kind: "user-login", seed: 1, key: "field" }).batch(1);
    expect(login?.key).toBe(json(login as GeneratedMessage).user_id);
    const [item] = createGenerator({ kind: "item", seed: 1, key: "uuid" }).batch(1);
    expect(item?.key).toMatch(UUID);
    expect(item?.key).not.toBe(json(item as GeneratedMessage).id);
    const [raw] = createGenerator({ kind: "raw", seed: 1, key: "none" }).batch(1);
    expect(raw?.key).toBeNull();
  });

  test("without a seed, timestamps follow the wall clock", () => {
    const before = Math.floor(Date.now() / 1000);
    const [m] = createGenerator({ kind: "user-login" }).batch(1);
    expect(json(m as GeneratedMessage).timestamp).toBeGreaterThanOrEqual(before);
  });
});

describe("malformed messages", () => {
  test("--bad-ratio mixes in every kind, about as often as asked", () => {
    const messages = createGenerator({ kind: "user-login", seed: 11, badRatio: 0.2 }).batch(5000);
    const bad = messages.filter((m) => m.bad);
    expect(bad.length).toBeGreaterThan(800);
    expect(bad.length).toBeLessThan(1200);
    expect(new Set(bad.map((m) => m.bad))).toEqual(new Set(BAD_KINDS));
    expect(createGenerator({ kind: "user-login", seed: 11 }).batch(1000).some((m) => m.bad)).toBe(false);
  });

  test.each(["user-login", "item"] as const)("%s: each kind fails the way its name says", (kind) => {
    const schema = MESSAGE_SCHEMAS[kind];
    const messages = createGenerator({ kind, seed: 5, badRatio: 1 }).batch(2000);
    for (const m of messages) {
      const decoded = decodeValue(m.value);
      switch (m.bad) {
        case "invalid-json":
          expect(decoded.kind).toBe("invalid-json");
          break;
        case "invalid-utf8":
          expect(decoded.kind).toBe("invalid-utf8");
          break;
        case "empty":
          expect(decoded.kind).toBe("empty");
          break;
        case "missing-fields":
          expect(decoded.kind).toBe("json");
          expect(schemaReasons(schema, json(m)).some((r) => r.startsWith("missing "))).toBe(true);
          break;
        case "wrong-types":
          expect(decoded.kind).toBe("json");
          expect(schemaReasons(schema, json(m)).some((r) => r.startsWith("wrong type "))).toBe(true);
          break;
        default:
          throw new Error("badRatio 1 must make only malformed messages");
      }
    }
  });

  test("a bad ratio outside 0..1 is refused", () => {
    expect(() => createGenerator({ kind: "user-login", badRatio: 1.5 })).toThrow();
    expect(() => createGenerator({ kind: "user-login", badRatio: -0.1 })).toThrow();
  });
});
