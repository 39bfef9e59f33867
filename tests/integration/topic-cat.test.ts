/**
 * topic-cat on the local stack: the last N of each partition, a time window
 * by the messages' own timestamps, a JSON dump replayed byte-exact into
 * another topic (binary keys, values and headers, timestamps, partitions),
 * and topics written by Apache Kafka's Java producer: compressed, and
 * transactional with aborted transactions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Message } from "kafkajs";
import { javaProduce } from "../helpers/java-producer.ts";
import { BUN, REPO_ROOT, runTool } from "../helpers/run-tool.ts";
import { STACK_CONFIG, createTopic, produce, runToolToEnd, uniqueName, waitFor, withAdmin } from "../helpers/stack-fixtures.ts";

const PARTITIONS = 3;
const PER_PARTITION = 30;
// Message i of a partition has timestamp BASE + i s: the window [10 s, 20 s) holds i = 10..19 of each.
// An hour ago, whole seconds: timestamps older than the topic's retention
// (7 days) let the broker delete the whole log at its next retention check,
// which in a long suite came between producing and reading.
const BASE = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const source = uniqueName("cat-src");
const copy = uniqueName("cat-copy");
const zstd = uniqueName("cat-zstd");
const tx = uniqueName("cat-tx");
const dir = mkdtempSync(join(tmpdir(), "topic-cat-"));

function message(partition: number, i: number): Message {
  const binary = i % 5 === 0;
  return {
    partition,
    timestamp: String(BASE + i * 1000),
    key: binary ? Buffer.from([0xff, partition, i]) : i % 7 === 0 ? null : `k-${partition}-${i}`,
    value: binary ? Buffer.from([0x00, 0xc3, 0x28, i]) : JSON.stringify({ p: partition, i, big: 1234567890123456789n.toString() }),
    headers: {},
    // Interleaved repeats, a null value and a binary one: the patched kafkajs writes them as listed.
    headerList: [
      { key: "multi", value: "a" },
      { key: "trace", value: `t-${i}` },
      { key: "multi", value: "b" },
      { key: "nil", value: null },
      { key: "raw", value: Buffer.from([0x80, i]) },
    ],
  };
}

interface Line {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: unknown;
  value: unknown;
  headers: [string, unknown][];
}

const lines = (stdout: string): Line[] => stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
const byPlace = (a: Line, b: Line) => a.partition - b.partition || a.offset - b.offset;
const cat = (args: string[]) => runToolToEnd("tools/topic-cat.ts", args);

beforeAll(async () => {
  await Promise.all([createTopic(source, PARTITIONS), createTopic(copy, PARTITIONS)]);
  await produce(source, Array.from({ length: PARTITIONS }, (_, p) => Array.from({ length: PER_PARTITION }, (_, i) => message(p, i))).flat());
  // Committed 5, aborted 3, committed 4, aborted 2: the log ends in an abort marker.
  await javaProduce([
    { topic: zstd, compression: "zstd", plan: "plain:200" },
    { topic: tx, compression: "lz4", plan: "commit:5,abort:3,commit:4,abort:2" },
  ]);
}, 240_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await withAdmin(undefined, (admin) => admin.deleteTopics({ topics: [source, copy, zstd, tx] })).catch(() => {});
});

describe("topic-cat", () => {
  test("-o -5: the last 5 of each partition, then exit 0", async () => {
    const run = await cat(["-t", source, "-o", "-5"]);
    expect(run.code, run.stderr).toBe(0);
    const got = lines(run.stdout).sort(byPlace);
    expect(got.map((l) => `${l.partition}@${l.offset}`)).toEqual(
      Array.from({ length: PARTITIONS }, (_, p) => Array.from({ length: 5 }, (_, i) => `${p}@${PER_PARTITION - 5 + i}`)).flat(),
    );
  });

  test("--from-time/--to-time: exactly the messages inside the window", async () => {
    const run = await cat(["-t", source, "--from-time", new Date(BASE + 10_000).toISOString(), "--to-time", String(BASE + 20_000)]);
    expect(run.code, run.stderr).toBe(0);
    const got = lines(run.stdout);
    expect(got.length).toBe(PARTITIONS * 10);
    expect(got.every((l) => l.timestamp >= BASE + 10_000 && l.timestamp < BASE + 20_000)).toBe(true);
  });

  test("--partition, --count and a template", async () => {
    const run = await cat(["-t", source, "-p", "1", "-o", "12", "-c", "2", "-f", "%p@%o %T %K\\n"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`1@12 ${BASE + 12_000} 6\n1@13 ${BASE + 13_000} 6\n`);
  });

  test("a JSON dump replays byte-exact: keys, binary values, headers, timestamps, partitions", async () => {
    const dumped = await cat(["-t", source]);
    expect(dumped.code, dumped.stderr).toBe(0);
    const file = join(dir, "dump.jsonl");
    await Bun.write(file, dumped.stdout);
    const fifth = lines(dumped.stdout).find((l) => l.offset === 5)!;
    expect(fifth.value).toEqual({ base64: Buffer.from([0, 0xc3, 0x28, 5]).toString("base64") });
    expect(fifth.headers).toEqual([["multi", "a"], ["trace", "t-5"], ["multi", "b"], ["nil", null], ["raw", { base64: Buffer.from([0x80, 5]).toString("base64") }]]);

    const replayed = await cat(["-P", "-t", copy, "-f", "json", "--file", file]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain(`produced ${PARTITIONS * PER_PARTITION} messages`);

    const again = await cat(["-t", copy]);
    expect(again.code, again.stderr).toBe(0);
    const strip = (l: Line) => ({ ...l, topic: undefined });
    expect(lines(again.stdout).sort(byPlace).map(strip)).toEqual(lines(readFileSync(file, "utf8")).sort(byPlace).map(strip));
  });

  test("lines with a key delimiter and headers, as kcat -P -K", async () => {
    const topic = uniqueName("cat-lines");
    await createTopic(topic, 1);
    const produced = await runTool("tools/topic-cat.ts", ["--config", STACK_CONFIG, "--log-dir", "none", "-P", "-t", topic, "-K", ":", "--headers", "src=cli"], {
      stdin: 'u1:{"a":1}\nno-key\n',
    });
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stdout).toContain("produced 2 messages");
    const got = lines((await cat(["-t", topic])).stdout);
    expect(got.map((l) => [l.key, l.value, l.headers])).toEqual([
      ["u1", '{"a":1}', [["src", "cli"]]],
      [null, "no-key", [["src", "cli"]]],
    ]);
    await withAdmin(undefined, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
  });

  test("a zstd topic from the Java producer, values decoded as JSON", async () => {
    const run = await cat(["-t", zstd, "--value-format", "json"]);
    expect(run.code, run.stderr).toBe(0);
    const got = lines(run.stdout);
    expect(got.length).toBe(200);
    // The decoded value is the message's own text: the 19-digit long keeps every digit.
    expect(run.stdout).toContain('"value":{"n":7,"fate":"plain","big":1234567890123456789}');
  });

  test("a transactional topic: aborted records never show, and the read ends on the abort marker", async () => {
    const run = await cat(["-t", tx, "-f", "%k\\n"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split("\n").filter(Boolean)).toEqual([0, 1, 2, 3, 4, 8, 9, 10, 11].map((n) => `k-${n}`));
  });

  test("--group reads as a group and commits what it printed; the next run goes on from there", async () => {
    const group = uniqueName("cat-group");
    const first = await cat(["-t", source, "-p", "0", "-G", group, "-c", "4", "-f", "%o\\n"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe("0\n1\n2\n3\n");
    const next = await cat(["-t", source, "-p", "0", "-G", group, "-c", "2", "-f", "%o\\n"]);
    expect(next.stdout).toBe("4\n5\n");
  });

  test("--follow prints messages as they arrive and stops on SIGINT with exit 0", async () => {
    const topic = uniqueName("cat-follow");
    await createTopic(topic, 1);
    const proc = Bun.spawn([BUN, "tools/topic-cat.ts", "--config", STACK_CONFIG, "--log-dir", "none", "--log-format", "json", "-t", topic, "--follow", "-f", "%k=%s\\n"], {
      cwd: REPO_ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    let stdout = "";
    let stderr = "";
    const drain = async (stream: ReadableStream<Uint8Array>, into: (text: string) => void) => {
      const decoder = new TextDecoder();
      for await (const bytes of stream) into(decoder.decode(bytes, { stream: true }));
    };
    const reading = Promise.all([drain(proc.stdout, (t) => (stdout += t)), drain(proc.stderr, (t) => (stderr += t))]);
    try {
      await waitFor(async () => stderr.includes('"msg":"reading"'), "topic-cat to start following");
      await produce(topic, [{ key: "a", value: "1" }]);
      await waitFor(async () => stdout.includes("a=1\n"), "the new message to be printed");
      proc.kill("SIGINT");
      expect(await proc.exited).toBe(0);
      await reading;
    } finally {
      proc.kill("SIGKILL");
    }
    await withAdmin(undefined, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
  });

  test("--value-format avro: Confluent-framed values decoded with the Schema Registry", async () => {
    const topic = uniqueName("cat-avro");
    await createTopic(topic, 1);
    const produced = await runToolToEnd("tools/produce-test-data.ts", ["--topic", topic, "--format", "avro", "--count", "5", "--seed", "1"]);
    expect(produced.code, produced.stderr).toBe(0);
    const run = await cat(["-t", topic, "--value-format", "avro"]);
    expect(run.code, run.stderr).toBe(0);
    const got = run.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(got.length).toBe(5);
    for (const envelope of got) {
      expect(envelope).toMatchObject({ value_format: "avro", value_schema_id: expect.any(Number) });
      expect(typeof envelope.value.user_id).toBe("string");
    }
    await withAdmin(undefined, (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => {});
  });

  test("usage errors exit 2 naming the flag", async () => {
    const run = await cat(["-t", source, "-o", "last"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--offset must be beginning, end");
  });
});
