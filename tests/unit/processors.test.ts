import { describe, expect, test } from "bun:test";
import { createHash, createHmac } from "node:crypto";
import { ConfigError } from "../../lib/errors.ts";
import { createGenerator } from "../../lib/generate/generator.ts";
import { USER_LOGIN_MIX } from "../../lib/generate/user-login-mix.ts";
import { readFileSync } from "node:fs";
import { avroDecoder } from "../../lib/avro/decoder.ts";
import { avroEncoding } from "../../lib/avro/encoding.ts";
import { fileSchemas } from "../../lib/avro/schemas.ts";
import { avroType } from "../../lib/avro/types.ts";
import { avroEventDecoder, decodeStep, jsonDecoder } from "../../lib/processors/decode.ts";
import { defaultsStep } from "../../lib/processors/defaults.ts";
import { dropStep } from "../../lib/processors/drop.ts";
import { eventProcessor, summaryMessage } from "../../lib/processors/event-outputs.ts";
import { processEvent } from "../../lib/processors/event-steps.ts";
import { filterStep } from "../../lib/processors/filter.ts";
import { hashStep, sha256Hex } from "../../lib/processors/hash.ts";
import { buildEventSteps, loadPipelineFile, parsePipeline } from "../../lib/processors/pipeline-file.ts";
import { renameStep } from "../../lib/processors/rename.ts";
import { requireStep } from "../../lib/processors/require.ts";
import { SummaryWindows } from "../../lib/processors/summary-window.ts";
import { epochToIso, timestampStep } from "../../lib/processors/timestamp.ts";
import { validateStep } from "../../lib/processors/validate.ts";
import type { SourceRecord } from "../../lib/engine/record.ts";
import type { StepVerdict } from "../../lib/processors/step.ts";

/** Seed 001's example message. */
const SEED_EVENT = JSON.parse(
  '{"user_id": "123", "app_version": "2.3.0", "ip": "162.255.195.202", "locale": "NE", ' +
    '"device_id": "0bcbfec0-02c4-496c-99ac-35d0cc750f6b", "timestamp": 1742331926, "device_type": "android"}',
);

const userLogin = () => buildEventSteps(loadPipelineFile("config/pipelines/user-login.json"), { env: {} });
const bytes = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));

describe("steps", () => {
  test("decode: JSON objects pass; bad JSON, bad UTF-8, empty, tombstones and non-objects are errors", () => {
    const decode = decodeStep(jsonDecoder);
    expect(decode(bytes({ a: 1 }))).toEqual({ kind: "next", event: { a: 1 } });
    expect(decode(bytes('{"a":'))).toMatchObject({ kind: "error", reason: expect.stringMatching(/^invalid JSON/) });
    expect(decode(Buffer.from([0x7b, 0xff, 0x7d]))).toEqual({ kind: "error", reason: "invalid UTF-8" });
    expect(decode(Buffer.alloc(0))).toEqual({ kind: "error", reason: "the message value is empty" });
    expect(decode(null)).toMatchObject({ kind: "error" });
    expect(decode(bytes("[1]"))).toEqual({ kind: "error", reason: "the json value is array, not an object" });
  });

  test("decode takes any decoder", () => {
    const upper = { name: "kv", decode: (b: Buffer) => Object.fromEntries([b.toString().split("=")]) };
    expect(decodeStep(upper)(bytes("a=b"))).toEqual({ kind: "next", event: { a: "b" } });
  });

  test("require: absent or null is an error naming the field", () => {
    const step = requireStep(["user_id", "ip"]);
    expect(step.run({ user_id: "1", ip: "x" }).kind).toBe("next");
    expect(step.run({ user_id: "1" })).toEqual({ kind: "error", reason: "missing field 'ip'" });
    expect(step.run({ user_id: null, ip: "x" })).toEqual({ kind: "error", reason: "field 'user_id' is null" });
  });

  test("validate: types from the declaration, other fields pass, optional with ?", () => {
    const step = validateStep({ user_id: "non-empty-string", timestamp: "epoch", ip: "ip?" });
    expect(step.run({ user_id: "1", timestamp: 5, extra: [1] }).kind).toBe("next");
    expect(step.run({ user_id: "", timestamp: 5 })).toEqual({ kind: "error", reason: "field 'user_id' is '', expected a non-empty string" });
    expect(step.run({ user_id: "1", timestamp: "5" })).toMatchObject({ kind: "error", reason: expect.stringContaining("field 'timestamp' is '5', expected an epoch integer") });
    expect(step.run({ user_id: "1", timestamp: 1.5 }).kind).toBe("error");
    expect(step.run({ user_id: "1" })).toEqual({ kind: "error", reason: "missing field 'timestamp'" });
    expect(step.run({ user_id: "1", timestamp: 5, ip: "nope" })).toMatchObject({ kind: "error", reason: expect.stringContaining("an IP address") });
  });

  test("defaults fill absent and null fields only", () => {
    const step = defaultsStep({ locale: "unknown", device_type: "unknown" });
    expect(step.run({ locale: null, device_type: "ios" })).toEqual({ kind: "next", event: { locale: "unknown", device_type: "ios" } });
  });

  test("filter keeps matching values, or with exclude drops them", () => {
    const keep = filterStep({ field: "app_version", equals: ["2.3.0"] });
    expect(keep.run({ app_version: "2.3.0" }).kind).toBe("next");
    expect(keep.run({ app_version: "1.0.0" })).toEqual({ kind: "filtered", reason: "app_version is '1.0.0', not '2.3.0'" });
    expect(keep.run({})).toEqual({ kind: "filtered", reason: "app_version is missing, not '2.3.0'" });
    const drop = filterStep({ field: "internal", equals: [true], exclude: true });
    expect(drop.run({ internal: true }).kind).toBe("filtered");
    expect(drop.run({}).kind).toBe("next");
  });

  test("hash: lowercase hex SHA-256 of the UTF-8 string, or HMAC-SHA-256 with a key", () => {
    const plain = hashStep({ fields: ["ip", "missing"] }).run({ ip: "162.255.195.202" });
    const expected = createHash("sha256").update("162.255.195.202").digest("hex");
    expect(plain).toEqual({ kind: "next", event: { ip: expected } });
    expect(sha256Hex("é")).toBe(createHash("sha256").update(Buffer.from("é", "utf8")).digest("hex"));
    const key = Buffer.from("a-very-secret-key-0123456789");
    const keyed = hashStep({ fields: ["ip"], key }).run({ ip: "1.2.3.4" });
    expect(keyed).toEqual({ kind: "next", event: { ip: createHmac("sha256", key).update("1.2.3.4").digest("hex") } });
  });

  test("timestamp: toISOString of seconds, or of milliseconds above 10^11", () => {
    expect(timestampStep({ field: "timestamp" }).run({ timestamp: 1742331926 })).toEqual({ kind: "next", event: { timestamp: "2025-03-18T21:05:26.000Z" } });
    expect(epochToIso(1742331926123)).toBe("2025-03-18T21:05:26.123Z");
    expect(epochToIso(100_000_000_000)).toBe(new Date(100_000_000_000 * 1000).toISOString());
    expect(epochToIso(100_000_000_001)).toBe(new Date(100_000_000_001).toISOString());
    expect(epochToIso(5, "ms")).toBe("1970-01-01T00:00:00.005Z");
    expect(timestampStep({ field: "t" }).run({ t: "x" }).kind).toBe("error");
    expect(timestampStep({ field: "t", unit: "ms" }).run({ t: 9e15 }).kind).toBe("error");
  });

  test("rename and drop", () => {
    expect(renameStep({ ts: "timestamp" }).run({ ts: 1, a: 2 })).toEqual({ kind: "next", event: { timestamp: 1, a: 2 } });
    expect(dropStep(["a"]).run({ a: 1, b: 2 })).toEqual({ kind: "next", event: { b: 2 } });
  });
});

describe("the user-login pipeline reproduces seeds 001 and 004", () => {
  test("the seed's example event", () => {
    const verdict = processEvent(bytes(SEED_EVENT), userLogin());
    expect(verdict).toEqual({
      kind: "processed",
      event: {
        ...SEED_EVENT,
        ip: createHash("sha256").update("162.255.195.202").digest("hex"),
        device_id: createHash("sha256").update("0bcbfec0-02c4-496c-99ac-35d0cc750f6b").digest("hex"),
        timestamp: "2025-03-18T21:05:26.000Z",
      },
    });
  });

  test("defaults, filter and errors", () => {
    const steps = userLogin();
    const { app_version: _a, locale: _l, device_type: _d, ...bare } = SEED_EVENT;
    expect(processEvent(bytes({ ...bare, app_version: "2.3.0" }), steps)).toMatchObject({ kind: "processed", event: { locale: "unknown", device_type: "unknown" } });
    expect(processEvent(bytes(bare), steps)).toEqual({ kind: "filtered", reason: "app_version is 'unknown', not '2.3.0'", stage: "filter" });
    expect(processEvent(bytes({ ...SEED_EVENT, app_version: "1.0.0" }), steps)).toMatchObject({ kind: "filtered", stage: "filter" });
    expect(processEvent(bytes({ ...SEED_EVENT, ip: undefined }), steps)).toEqual({ kind: "error", reason: "missing field 'ip'", stage: "require" });
    expect(processEvent(bytes({ ...SEED_EVENT, ip: 5 }), steps)).toMatchObject({ kind: "error", stage: "validate" });
    expect(processEvent(bytes({ ...SEED_EVENT, timestamp: 1742331926123 }), steps)).toMatchObject({ event: { timestamp: "2025-03-18T21:05:26.123Z" } });
    expect(processEvent(bytes("{"), steps)).toMatchObject({ kind: "error", stage: "decode" });
  });

  test("every user-login-mix variant ends as the outcome the mix documents", () => {
    const steps = userLogin();
    const seen = new Map<string, number>();
    const messages = createGenerator({ kind: "user-login-mix", seed: 5 }).batch(4000);
    const wrong: string[] = [];
    for (const m of messages) {
      const outcome = processEvent(m.value, steps).kind;
      if (outcome !== m.outcome) wrong.push(`${m.variant}: ${outcome}`);
      seen.set(m.variant!, (seen.get(m.variant!) ?? 0) + 1);
    }
    expect(wrong).toEqual([]);
    for (const variant of USER_LOGIN_MIX) {
      const share = (seen.get(variant.name) ?? 0) / messages.length;
      expect(Math.abs(share * 100 - variant.percent)).toBeLessThan(1.5);
    }
    expect(USER_LOGIN_MIX.reduce((sum, v) => sum + v.percent, 0)).toBe(100);
  });
});

describe("pipeline file", () => {
  const base = () => JSON.parse(JSON.stringify(require("../../config/pipelines/user-login.json")));
  const problem = (mutate: (file: any) => void) => {
    const file = base();
    mutate(file);
    try {
      buildEventSteps(parsePipeline(file, "p.json"), { env: { SHORT: "short", GOOD: "0123456789abcdef0123" } });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    return "no error";
  };

  test("one line naming the place of a wrong step or key", () => {
    expect(problem((f) => (f.steps[5].algo = "md5"))).toBe("p.json: steps[5] (hash): unknown key 'algo'");
    expect(problem((f) => (f.steps[1] = { step: "requier", fields: ["a"] }))).toStartWith("p.json: steps[1]: unknown step \"requier\" (steps: decode, require,");
    expect(problem((f) => (f.steps[2].fields.user_id = "text"))).toStartWith("p.json: steps[2] (validate): fields.user_id: expected one of");
    expect(problem((f) => (f.colour = 1))).toBe("p.json: unknown key 'colour'");
    expect(problem((f) => delete f.outputs.processed)).toBe("p.json: missing key 'outputs.processed'");
    expect(problem((f) => f.steps.shift())).toStartWith("p.json: steps: the first step, and only the first, must be decode");
    expect(problem((f) => (f.steps[0].format = "xml"))).toBe("p.json: steps[0] (decode): unknown format 'xml' (formats: json, avro)");
  });

  test("hmac keys: from the file or the environment, long enough, never echoed", () => {
    expect(problem((f) => Object.assign(f.steps[5], { algorithm: "hmac-sha256" }))).toBe("p.json: steps[5] (hash): hmac-sha256 needs exactly one of 'key' or 'key_env'");
    expect(problem((f) => Object.assign(f.steps[5], { algorithm: "hmac-sha256", key_env: "NOPE" }))).toBe("p.json: steps[5] (hash): environment variable NOPE (the HMAC key) is not set");
    expect(problem((f) => Object.assign(f.steps[5], { algorithm: "hmac-sha256", key_env: "SHORT" }))).toContain("shorter than 16 bytes");
    expect(problem((f) => Object.assign(f.steps[5], { algorithm: "hmac-sha256", key_env: "GOOD" }))).toBe("no error");
    const tooShort = problem((f) => Object.assign(f.steps[5], { algorithm: "hmac-sha256", key: "hunter2" }));
    expect(tooShort).toStartWith("p.json: steps[5] (hash): key:");
    expect(tooShort).not.toContain("hunter2");
    expect(problem((f) => Object.assign(f.steps[5], { key: "0123456789abcdef0123" }))).toContain("need \"algorithm\": \"hmac-sha256\"");
  });
});

describe("summary windows", () => {
  const options = { every: 3, count: { locales: "locale" } };

  test("close every N messages of a partition, with the offsets they cover", () => {
    const windows = new SummaryWindows(options);
    expect(windows.add("t", 0, "10", "processed", { locale: "NE" })).toBeUndefined();
    expect(windows.add("t", 1, "7", "error")).toBeUndefined();
    expect(windows.add("t", 0, "11", "filtered")).toBeUndefined();
    expect(windows.add("t", 0, "13", "processed", {})).toEqual({
      topic: "t", partition: 0, from_offset: "10", to_offset: "13", messages: 3,
      processed: 2, filtered: 0 + 1, errors: 0, counts: { locales: { NE: 1, "(missing)": 1 } }, closed_by: "every",
    });
    expect(windows.flush("t", 1, "stop")).toMatchObject({ from_offset: "7", to_offset: "7", messages: 1, errors: 1, closed_by: "stop" });
    expect(windows.open()).toEqual([]);
  });

  test("an open window travels in offset metadata and resumes only at its committed offset", () => {
    const a = new SummaryWindows(options);
    a.add("t", 2, "40", "processed", { locale: "CA" });
    a.add("t", 2, "41", "processed", { locale: "CA" });
    const { metadata } = a.metadata("t", 2);
    const b = new SummaryWindows(options);
    expect(b.restore("t", 2, "41", metadata)).toBe(false);
    expect(b.restore("t", 2, "42", metadata)).toBe(true);
    expect(b.add("t", 2, "42", "processed", { locale: "NE" })).toMatchObject({ from_offset: "40", to_offset: "42", messages: 3, counts: { locales: { CA: 2, NE: 1 } } });
    expect(b.restore("t", 2, "42", "something else")).toBe(false);
  });

  test("a window too large for offset metadata closes early", () => {
    const windows = new SummaryWindows({ every: 10_000, count: { ids: "id" } });
    let closed;
    for (let i = 0; i < 500 && !closed; i++) {
      windows.add("t", 0, String(i), "processed", { id: `user-${i}` });
      closed = windows.metadata("t", 0).closed;
    }
    expect(closed).toMatchObject({ closed_by: "state-size", from_offset: "0" });
    expect(windows.metadata("t", 0)).toEqual({ metadata: "" });
  });

  test("summary messages carry the counts at top level, keyed by partition", () => {
    const message = summaryMessage({ topic: "t", partition: 1, from_offset: "0", to_offset: "1", messages: 2, processed: 2, filtered: 0, errors: 0, counts: { locales: { NE: 2 } }, closed_by: "every" }, "s", new Date(0));
    expect(message.key).toBe("t/1");
    expect(JSON.parse(String(message.value))).toMatchObject({ processed: 2, locales: { NE: 2 }, from_offset: "0", to_offset: "1" });
  });
});

describe("outputs", () => {
  const record: SourceRecord = { topic: "in", partition: 2, offset: "9", key: Buffer.from("k"), value: Buffer.from("{}"), headers: { h: "v" }, timestamp: "5", size: 2 };
  const step = (verdict: StepVerdict) => ({ decode: () => verdict, steps: [] });
  const topics = { processed: "out", filtered: null };

  test("processed and filtered go where the topics say, with their source; errors are dead letters", () => {
    expect(eventProcessor(step({ kind: "next", event: { a: 1 } }), topics)(record)).toEqual({
      kind: "write",
      item: { topic: "out", key: record.key, value: '{"a":1}', headers: { "x-source-topic": "in", "x-source-partition": "2", "x-source-offset": "9" }, timestamp: "5", event: { a: 1 } },
    });
    expect(eventProcessor(step({ kind: "filtered", reason: "r" }), topics)(record)).toEqual({ kind: "skip", reason: "r" });
    expect(eventProcessor(step({ kind: "filtered", reason: "r" }), { ...topics, filtered: "f" })(record)).toMatchObject({
      kind: "write",
      item: { topic: "f", value: record.value, headers: { "x-filter-reason": "r", "x-filter-stage": "decode" } },
    });
    expect(eventProcessor(step({ kind: "error", reason: "bad" }), topics)(record)).toEqual({ kind: "dead", reason: "bad", stage: "decode" });
  });
});

describe("the avro decode format", () => {
  test("Confluent-framed Avro decodes to the JSON the steps see; a bad frame is an error naming Avro", async () => {
    const text = readFileSync("schemas/user_login.avsc", "utf8");
    const encoding = avroEncoding(avroType(text), 9);
    const avro = avroDecoder(fileSchemas("schemas/user_login.avsc"));
    const login = { user_id: "u1", app_version: "2.3.0", ip: "10.0.0.1", locale: "NE", device_id: "d1", timestamp: 1742331926n, device_type: "android" };
    const good = encoding.encode(login);
    const bad = encoding.bad("truncated", login);
    await avro.prepare([good, bad]);
    const decode = decodeStep(avroEventDecoder(avro));
    expect(decode(good)).toEqual({ kind: "next", event: { ...login, timestamp: 1742331926 } });
    expect(decode(bad)).toMatchObject({ kind: "error", reason: expect.stringMatching(/^invalid Avro: /) });
    expect(processEvent(good, buildEventSteps(loadPipelineFile("config/pipelines/user-login.json"), { env: {}, format: "avro", decoders: { avro: avroEventDecoder(avro) } }))).toMatchObject({
      kind: "processed",
      event: { ip: sha256Hex("10.0.0.1"), timestamp: "2025-03-18T21:05:26.000Z" },
    });
    expect(() => buildEventSteps(loadPipelineFile("config/pipelines/user-login.json"), { env: {}, format: "avro" })).toThrow("needs the Avro schemas set up");
  });
});
