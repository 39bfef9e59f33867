/**
 * Topics written by Apache Kafka's own Java producer, not kafkajs: every
 * compression codec (gzip, snappy, lz4, zstd) and transactional topics with
 * committed and aborted transactions. kafka2mongo, kafka2kafka and
 * verify-topic read them all; aborted records never land; --until-caught-up
 * and --max-messages end although the topic ends in transaction markers.
 * The other way round: what produce-test-data --compression writes with each
 * codec is stored with that codec (Kafka's DumpLogSegments) and read by
 * Apache Kafka's own console consumer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import type { Document } from "mongodb";
import { kafkaSection } from "../../lib/config/kafka-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import { javaProduce, type JavaTopic } from "../helpers/java-producer.ts";
import { ROOT, STACK_CONFIG, localKafka, readAll, runToolToEnd, uniqueName, withAdmin, withMongo } from "../helpers/stack-fixtures.ts";

const REMOTE = kafkaSection(loadConfigSource(STACK_CONFIG), "remote_kafka").brokers;
const DB = "foreign_producers";
const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
const PER_CODEC = 400;
const codecTopic = Object.fromEntries(CODECS.map((c) => [c, uniqueName(`java-${c}`)])) as Record<(typeof CODECS)[number], string>;
// Committed 60 + 40, aborted 25 in between and 15 at the very end: the log ends in an abort marker.
const txTopic = uniqueName("java-tx");
const TX_COMMITTED = 100;

beforeAll(async () => {
  const topics: JavaTopic[] = [
    ...CODECS.map((c) => ({ topic: codecTopic[c], compression: c, plan: `plain:${PER_CODEC}` })),
    { topic: txTopic, compression: "zstd", plan: "commit:60,abort:25,commit:40,abort:15" },
  ];
  await javaProduce(topics);
}, 240_000);

afterAll(async () => {
  await withMongo((client) => client.db(DB).dropDatabase()).catch(() => {});
  await withAdmin(undefined, (admin) => admin.deleteTopics({ topics: [...Object.values(codecTopic), txTopic] })).catch(() => {});
  await withAdmin(REMOTE, (admin) => admin.deleteTopics({ topics: [...Object.values(codecTopic), txTopic] })).catch(() => {});
});

function kafka2mongo(topic: string, collection: string, extra: string[] = []) {
  return runToolToEnd("tools/kafka2mongo.ts", ["--topic", topic, "--group", uniqueName("g"), "--db", DB, "--collection", collection, "--json", ...extra]);
}

function verify(topic: string) {
  return runToolToEnd("tools/verify-topic.ts", ["--topic", topic, "--json"]);
}

describe("every codec written by the Java producer", () => {
  for (const codec of CODECS) {
    test(`${codec}: kafka2mongo lands, verify-topic counts, kafka2kafka copies with ${codec}`, async () => {
      const topic = codecTopic[codec];
      const landed = await kafka2mongo(topic, codec, ["--until-caught-up"]);
      expect(landed.stderr.split("\n").filter((l) => l.includes('"level":"error"'))).toEqual([]);
      expect(landed.code).toBe(0);
      expect(JSON.parse(landed.stdout)).toMatchObject({ consumed: PER_CODEC, inserted: PER_CODEC, dead_lettered: 0, remaining_lag: 0 });
      const docs = await withMongo((c) => c.db(DB).collection<Document>(codec).find({}, { sort: { n: 1 }, useBigInt64: true }).toArray());
      expect(docs.length).toBe(PER_CODEC);
      // Every digit of the Java producer's 1234567890123456789 survives, as an Int64.
      expect(docs[7]).toMatchObject({ n: 7, fate: "plain", _kafka_key: "k-7", big: 1234567890123456789n });

      const verified = await verify(topic);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, complete: true, messages: PER_CODEC });

      const copied = await runToolToEnd("tools/kafka2kafka.ts", [
        "--from", "local_kafka", "--to", "remote_kafka", "--topic", topic, "--group", uniqueName("k2k"),
        "--compression", codec, "--until-caught-up", "--json",
      ]);
      expect(copied.code).toBe(0);
      const copies = await readAll(topic, REMOTE);
      expect(copies.length).toBe(PER_CODEC);
      const javaValue = (n: number) => `{"n":${n},"fate":"plain","big":1234567890123456789}`;
      expect(copies.map((m) => m.value!.toString()).sort()).toEqual(docs.map((d) => javaValue(Number(d.n))).sort());
    }, 180_000);
  }
});

describe("a transactional topic with committed and aborted transactions", () => {
  test("kafka2mongo --until-caught-up lands the committed records only and ends with lag 0", async () => {
    const run = await kafka2mongo(txTopic, "tx_caught_up", ["--until-caught-up"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ consumed: TX_COMMITTED, inserted: TX_COMMITTED, remaining_lag: 0, stopped_by: "caught-up" });
    const fates = await withMongo((c) => c.db(DB).collection("tx_caught_up").distinct("fate"));
    expect(fates).toEqual(["commit"]);
  }, 120_000);

  test("kafka2mongo --max-messages counts committed records and exits 0", async () => {
    const run = await kafka2mongo(txTopic, "tx_max", ["--max-messages", String(TX_COMMITTED)]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ committed: TX_COMMITTED, inserted: TX_COMMITTED, remaining_lag: 0, stopped_by: "max-messages" });
  }, 120_000);

  test("verify-topic reads to the end and counts committed records", async () => {
    const run = await verify(txTopic);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, complete: true, messages: TX_COMMITTED });
  }, 120_000);

  test("kafka2kafka --until-caught-up copies the committed records only and ends", async () => {
    const run = await runToolToEnd("tools/kafka2kafka.ts", [
      "--from", "local_kafka", "--to", "remote_kafka", "--topic", txTopic, "--group", uniqueName("k2k"), "--until-caught-up", "--json",
    ]);
    expect(run.code).toBe(0);
    const copies = await readAll(txTopic, REMOTE);
    expect(copies.length).toBe(TX_COMMITTED);
    expect(copies.every((m) => m.value!.toString().includes('"fate":"commit"'))).toBe(true);
  }, 120_000);
});

describe("every codec written by produce-test-data, read by Apache Kafka's own consumer", () => {
  const written = Object.fromEntries(CODECS.map((c) => [c, uniqueName(`ptd-${c}`)])) as Record<(typeof CODECS)[number], string>;
  const java = (main: string, args: string[]) =>
    Bun.spawn(["java", "-cp", `${resolve(ROOT, ".stack/kafka/libs")}/*`, main, ...args], { stdout: "pipe", stderr: "pipe" });

  afterAll(async () => {
    await withAdmin(undefined, (admin) => admin.deleteTopics({ topics: Object.values(written) })).catch(() => {});
  });

  test("gzip, snappy, lz4 and zstd: stored with that codec, and every message read back", async () => {
    for (const codec of CODECS) {
      const run = await runToolToEnd("tools/produce-test-data.ts", ["--topic", written[codec], "--count", "100", "--partitions", "1", "--compression", codec, "--json"]);
      expect(run.code).toBe(0);
    }
    // The broker's log segments say which codec each batch has.
    const segments = CODECS.map((c) => resolve(ROOT, ".stack/local-kafka/data", `${written[c]}-0`, "00000000000000000000.log"));
    const dump = java("kafka.tools.DumpLogSegments", ["--files", segments.join(",")]);
    const dumped = await new Response(dump.stdout).text();
    expect(await dump.exited).toBe(0);
    for (const [i, codec] of CODECS.entries()) {
      const section = dumped.split("Dumping ")[i + 1] ?? "";
      expect(section).toContain(segments[i]!);
      expect(section).toMatch(new RegExp(`compresscodec: ${codec}`, "i"));
      expect(section).not.toMatch(/compresscodec: none/i);
    }
    // Kafka's console consumer decompresses them all.
    const consumer = java("org.apache.kafka.tools.consumer.ConsoleConsumer", [
      "--bootstrap-server", localKafka.brokers.join(","), "--include", Object.values(written).join("|"),
      "--from-beginning", "--max-messages", String(100 * CODECS.length), "--timeout-ms", "60000",
    ]);
    const lines = (await new Response(consumer.stdout).text()).trim().split("\n");
    expect(await consumer.exited).toBe(0);
    expect(lines.length).toBe(100 * CODECS.length);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  }, 240_000);
});
