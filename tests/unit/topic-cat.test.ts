import { describe, expect, test } from "bun:test";
import { defineTool, parseFlags } from "../../lib/cli/flags.ts";
import { PIPELINE_OPTIONS, pipelineRunFlags } from "../../lib/cli/pipeline-flags.ts";
import { WindowEnds } from "../../lib/kafka/replay-window.ts";
import { UsageError } from "../../lib/errors.ts";
import { envelopeLine, EnvelopeError, parseEnvelope, type CatMessage } from "../../lib/kafka/envelope.ts";
import { headerPairs, kafkaHeaderList } from "../../lib/kafka/header-pairs.ts";
import { parseOffsetSpec, parseTime, resolveRange, type PartitionBounds } from "../../lib/kafka/positions.ts";
import { compileTemplate, jsonValueDecoder, messageRenderer } from "../../lib/inspect/message-format.ts";
import { lineParser, parseHeadersFlag } from "../../lib/produce/line-input.ts";

const message: CatMessage = {
  topic: "t",
  partition: 2,
  offset: "42",
  timestamp: "1742331926000",
  key: Buffer.from("k1"),
  value: Buffer.from('{"id": 1234567890123456789,\n "a": "x"}'),
  headers: [
    ["h", Buffer.from("1")],
    ["bin", Buffer.from([0xff, 0x00])],
    ["h", null],
  ],
};

describe("positions", () => {
  test("offset specs as kcat's -o", () => {
    expect(parseOffsetSpec("beginning")).toEqual({ kind: "beginning" });
    expect(parseOffsetSpec("end")).toEqual({ kind: "end" });
    expect(parseOffsetSpec("1500")).toEqual({ kind: "offset", offset: 1500n });
    expect(parseOffsetSpec("-10")).toEqual({ kind: "tail", count: 10n });
    expect(() => parseOffsetSpec("last")).toThrow(UsageError);
  });

  test("times: epoch ms, ISO-8601 with or without a zone (UTC)", () => {
    expect(parseTime("1742331926000", "--from-time")).toBe(1742331926000);
    expect(parseTime("2025-03-18T21:05:26Z", "--from-time")).toBe(Date.UTC(2025, 2, 18, 21, 5, 26));
    expect(parseTime("2025-03-18T21:05:26", "--from-time")).toBe(Date.UTC(2025, 2, 18, 21, 5, 26));
    expect(parseTime("2025-03-18T22:05:26+01:00", "--from-time")).toBe(Date.UTC(2025, 2, 18, 21, 5, 26));
    expect(parseTime("2025-03-18", "--from-time")).toBe(Date.UTC(2025, 2, 18));
    expect(() => parseTime("yesterday", "--to-time")).toThrow("--to-time must be an ISO-8601 time");
  });

  const bounds: PartitionBounds = { partition: 1, low: 100n, high: 200n, atFromTime: 150n, atToTime: 180n };
  test("ranges: clamped into the log, ends at the end, the to time, or never", () => {
    const end = { kind: "end" } as const;
    expect(resolveRange(bounds, { start: { kind: "beginning" }, end })).toEqual({ partition: 1, start: 100n, end: 200n });
    expect(resolveRange(bounds, { start: { kind: "tail", count: 10n }, end })).toEqual({ partition: 1, start: 190n, end: 200n });
    expect(resolveRange(bounds, { start: { kind: "tail", count: 1000n }, end })).toEqual({ partition: 1, start: 100n, end: 200n });
    expect(resolveRange(bounds, { start: { kind: "offset", offset: 5n }, end })).toEqual({ partition: 1, start: 100n, end: 200n });
    expect(resolveRange(bounds, { start: { kind: "offset", offset: 900n }, end })).toEqual({ partition: 1, start: 200n, end: 200n });
    expect(resolveRange(bounds, { start: { kind: "time" }, end: { kind: "time" } })).toEqual({ partition: 1, start: 150n, end: 180n });
    expect(resolveRange(bounds, { start: { kind: "committed" }, end: { kind: "none" } })).toEqual({ partition: 1, start: 100n, end: undefined });
    expect(resolveRange({ ...bounds, committed: 160n }, { start: { kind: "committed" }, end })).toEqual({ partition: 1, start: 160n, end: 200n });
  });
});

describe("envelope", () => {
  test("text, base64 for non-UTF-8, header pairs in order with repeats and nulls", () => {
    const line = envelopeLine(message);
    expect(JSON.parse(line)).toEqual({
      topic: "t",
      partition: 2,
      offset: 42,
      timestamp: 1742331926000,
      key: "k1",
      value: '{"id": 1234567890123456789,\n "a": "x"}',
      headers: [["h", "1"], ["bin", { base64: "/wA=" }], ["h", null]],
    });
    const back = parseEnvelope(line, "dump:1");
    expect(back).toEqual({ partition: 2, timestamp: "1742331926000", key: message.key, value: message.value, headers: message.headers });
  });

  test("a BOM and invalid UTF-8 survive byte for byte", () => {
    for (const bytes of [Buffer.from([0xef, 0xbb, 0xbf, 0x41]), Buffer.from([0xc3, 0x28]), Buffer.alloc(0)]) {
      const back = parseEnvelope(envelopeLine({ ...message, value: bytes, key: null }), "x");
      expect(back.value).toEqual(bytes);
      expect(back.key).toBeNull();
    }
  });

  test("a decoded JSON value goes in as its own text, every digit kept", () => {
    const line = envelopeLine(message, jsonValueDecoder(message.value));
    expect(line).toContain('"value":{"id": 1234567890123456789,  "a": "x"},"headers"');
    expect(JSON.parse(line).value_format).toBe("json");
    expect(JSON.parse(envelopeLine({ ...message, value: Buffer.from("nope") }, jsonValueDecoder(Buffer.from("nope")))).value_error).toContain("not JSON");
  });

  test("bad lines name the line and field", () => {
    expect(() => parseEnvelope("{", "f:3")).toThrow(EnvelopeError);
    expect(() => parseEnvelope('{"value": 5}', "f:3")).toThrow("f:3: 'value' must be a string");
    expect(() => parseEnvelope('{"value": "a", "headers": {"h": "1"}}', "f:4")).toThrow("f:4: 'headers' must be a list");
    expect(() => parseEnvelope('{"value": {"x": 1}, "value_format": "avro"}', "f:5")).toThrow("cannot be produced");
    expect(parseEnvelope('{"value": {"x": 1}, "value_format": "json"}', "f:6").value).toEqual(Buffer.from('{"x":1}'));
  });
});

describe("header pairs", () => {
  test("the patched kafkajs' headerList as pairs and back; the object form when there is none", () => {
    const headerList = [
      { key: "a", value: Buffer.from("1") },
      { key: "b", value: null },
      { key: "a", value: "2" },
      { key: Buffer.from([0xff]), value: Buffer.from("x") },
    ];
    const pairs = headerPairs({ headers: {}, headerList });
    expect(pairs).toEqual([
      ["a", Buffer.from("1")],
      ["b", null],
      ["a", Buffer.from("2")],
      [Buffer.from([0xff]), Buffer.from("x")],
    ]);
    expect(kafkaHeaderList(pairs)).toEqual(pairs.map(([key, value]) => ({ key, value })));
    expect(headerPairs({ headers: { a: [Buffer.from("1"), "2"] } })).toEqual([
      ["a", Buffer.from("1")],
      ["a", Buffer.from("2")],
    ]);
  });

  test("a header name that is not UTF-8 round-trips through the envelope", () => {
    const line = envelopeLine({ ...message, headers: [[Buffer.from([0xff]), null]] });
    expect(JSON.parse(line).headers).toEqual([[{ base64: "/w==" }, null]]);
    expect(parseEnvelope(line, "x").headers).toEqual([[Buffer.from([0xff]), null]]);
  });
});

describe("templates", () => {
  test("kcat tokens and escapes, binary kept", () => {
    const render = compileTemplate("%t|%p|%o|%k|%K|%S|%T|%h|100%%\\t\\x41\\n");
    expect(render({ ...message, value: Buffer.from("v") }).toString("latin1")).toBe("t|2|42|k1|2|1|1742331926000|h=1,bin=\xff\x00,h=|100%\tA\n");
    expect(compileTemplate("%s%R")({ ...message, value: null })).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(() => compileTemplate("%q")).toThrow("--format: unknown token '%q'");
    expect(() => compileTemplate("a\\q")).toThrow("unknown escape");
  });

  test("value format: the value and a newline; with a decoder, %s is the JSON text", () => {
    expect(messageRenderer("value")({ ...message, value: Buffer.from([1, 2]) })).toEqual(Buffer.from([1, 2, 10]));
    expect(messageRenderer("%s\\n", jsonValueDecoder)(message).toString()).toBe('{"id": 1234567890123456789,  "a": "x"}\n');
  });
});

describe("produce input", () => {
  test("key delimiter and headers as kcat -K and -H", () => {
    const parse = lineParser({ format: "line", keyDelimiter: "::", headers: parseHeadersFlag("src=cli,q=a=b") });
    expect(parse("k::v::w", "stdin:1")).toEqual({ key: Buffer.from("k"), value: Buffer.from("v::w"), headers: [["src", Buffer.from("cli")], ["q", Buffer.from("a=b")]] });
    expect(parse("no key", "stdin:2").key).toBeNull();
    expect(() => parseHeadersFlag("novalue")).toThrow("--headers: 'novalue' is not name=value");
  });
});

describe("negative flag values", () => {
  const spec = defineTool({
    name: "t",
    summary: "s",
    options: { offset: { type: "string", short: "o", description: "o" }, follow: { type: "boolean", description: "f" } },
    examples: [],
  });
  test("-o -10 and --offset -10 are a value, as kcat users write them", () => {
    expect(parseFlags(spec, ["-o", "-10"]).string("offset")).toBe("-10");
    expect(parseFlags(spec, ["--offset", "-10", "--follow"]).string("offset")).toBe("-10");
    expect(() => parseFlags(spec, ["--follow", "-5"])).toThrow(UsageError);
  });
});

describe("replay window", () => {
  test("records before the end only, commits clamped, no lag once a fetch reached the end", () => {
    const window = new WindowEnds(new Map([["t/0", 120n]]));
    expect(window.contains("t", 0, "119")).toBe(true);
    expect(window.contains("t", 0, "120")).toBe(false);
    expect(window.contains("t", 1, "999")).toBe(true);
    expect(window.clampNext("t", 0, "130")).toBe("120");
    expect(window.clampNext("t", 0, "110")).toBe("110");
    expect(window.lag("t", 0, 100, 500)).toBe(20);
    expect(window.lag("t", 1, 100, 500)).toBe(500);
    expect(window.fetched("t", 0, "110")).toBe(false);
    expect(window.fetched("t", 0, "119")).toBe(true);
    expect(window.fetched("t", 0, "125")).toBe(false); // once
    expect(window.lag("t", 0, 100, 500)).toBe(0);
  });

  const spec = defineTool({ name: "p", summary: "s", options: PIPELINE_OPTIONS, examples: [] });
  test("--from-time/--to-time: a window, and --to-time ends the run", () => {
    const run = pipelineRunFlags(parseFlags(spec, ["--from-time", "2025-03-18T09:00:00Z", "--to-time", "1742292000000"]));
    expect(run.window).toEqual({ fromTime: Date.UTC(2025, 2, 18, 9), toTime: 1742292000000 });
    expect(run.settings.untilCaughtUp).toBe(true);
    expect(pipelineRunFlags(parseFlags(spec, ["--from-time", "2025-03-18"])).settings.untilCaughtUp).toBe(false);
    expect(pipelineRunFlags(parseFlags(spec, [])).window).toBeUndefined();
    expect(() => pipelineRunFlags(parseFlags(spec, ["--from-time", "2025-03-18", "--from-beginning"]))).toThrow("give one");
    expect(() => pipelineRunFlags(parseFlags(spec, ["--from-time", "2025-03-18", "--to-time", "2025-03-17"]))).toThrow("before --from-time");
  });
});
