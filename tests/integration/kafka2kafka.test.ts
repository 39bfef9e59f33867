/**
 * kafka2kafka against the two clusters of the local stack (remote 9192 with a
 * SCRAM listener on 9193, local 9092): byte-exact copies compared partition by
 * partition, restart, kill -9, SCRAM, a wrong password, loop prevention,
 * partition-count refusal and a message the destination refuses as too large.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import { kafkaSection } from "../../lib/config/kafka-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import { DLQ_HEADERS } from "../../lib/sinks/dead-letter-topic.ts";
import { PROVENANCE_HEADERS } from "../../lib/processors/replicate.ts";
import { javaHeaders, javaProduce } from "../helpers/java-producer.ts";
import { REPO_ROOT, runTool } from "../helpers/run-tool.ts";
import { createTopic, kafkaClient, produce, uniqueName, withAdmin } from "../helpers/stack-fixtures.ts";

const TOOL = "tools/kafka2kafka.ts";
const CONFIG = resolve(REPO_ROOT, "config/local-stack.ini");
const stackConfig = loadConfigSource(CONFIG);
const REMOTE = kafkaSection(stackConfig, "remote_kafka").brokers;
const LOCAL = kafkaSection(stackConfig, "local_kafka").brokers;
const REMOTE_SCRAM = kafkaSection(stackConfig, "remote_kafka_scram").brokers;

/**
 * Messages spread over `partitions` by explicit partition, with binary keys
 * and values (some null), several headers (binary, repeated, none) and
 * explicit, non-monotonic timestamps from the last hour. The value starts
 * with `#<seq>;` so copies can be matched to their source.
 */
function testMessages(count: number, partitions: number, valueBytes = 120): Message[] {
  const base = Date.now() - 3_600_000;
  return Array.from({ length: count }, (_, seq) => {
    const headers: IHeaders = {};
    if (seq % 5 !== 0) {
      headers.trace = `t-${seq}`;
      headers.bin = Buffer.from([seq & 0xff, 0xff, 0x00, 0xc3, 0x28]);
    }
    if (seq % 3 === 0) headers.multi = [Buffer.from("a"), Buffer.from([seq % 251]), Buffer.from("")];
    return {
      partition: seq % partitions,
      key: seq % 11 === 0 ? null : Buffer.concat([Buffer.from(`key-${seq}-`), randomBytes(4)]),
      value: seq % 97 === 1 ? null : Buffer.concat([Buffer.from(`#${seq};`), randomBytes(valueBytes)]),
      headers,
      timestamp: String(base + seq * 3 - (seq % 7) * 1000),
    };
  });
}

type Partitions = Map<number, KafkaMessage[]>;

/** Reads a topic to its current end: messages per partition, in offset order. */
async function readTopic(brokers: string[], topic: string): Promise<Partitions> {
  const kafka = kafkaClient(brokers);
  const ends = await withAdmin(brokers, (admin) => admin.fetchTopicOffsets(topic));
  const out: Partitions = new Map(ends.map((e) => [e.partition, []]));
  const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  if (remaining.size === 0) return out;
  const groupId = uniqueName("k2k-reader");
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((done) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        const end = remaining.get(batch.partition);
        if (end === undefined) return;
        const list = out.get(batch.partition)!;
        for (const message of batch.messages) if (BigInt(message.offset) < end) list.push(message);
        if (BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(batch.partition);
        if (remaining.size === 0) done();
      },
    });
  });
  await consumer.disconnect();
  await withAdmin(brokers, (admin) => admin.deleteGroups([groupId])).catch(() => {});
  return out;
}

/** Messages ever written to a topic (0 if it does not exist). */
async function endOffsetTotal(brokers: string[], topic: string): Promise<number> {
  return withAdmin(brokers, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    // A topic the tool has just created is listed before its partitions have
    // leaders; the broker answers NOT_LEADER (retriable) for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        const ends = await admin.fetchTopicOffsets(topic);
        return ends.reduce((sum, e) => sum + Number(e.high), 0);
      } catch (error) {
        if (!(error as { retriable?: boolean }).retriable || attempt >= 50) throw error;
        await Bun.sleep(100);
      }
    }
  });
}

function hex(value: Buffer | string | null | undefined): string | null {
  return value === null || value === undefined ? null : Buffer.from(value).toString("hex");
}

/** Headers in wire order, names and values as hex: equal means byte-identical. */
function headerBytes(m: KafkaMessage): [string | null, string | null][] {
  return (m.headerList ?? []).map((h) => [hex(h.key), hex(h.value)]);
}

/**
 * A message's bytes; for a copy, without the x-source-cluster header every
 * copy ends with (checked to be there).
 */
function fingerprint(m: KafkaMessage, copy = false) {
  let headers = headerBytes(m);
  if (copy) {
    expect(headers.at(-1)?.[0]).toBe(hex(PROVENANCE_HEADERS.cluster));
    headers = headers.slice(0, -1);
  }
  return { key: hex(m.key), value: hex(m.value), headers, timestamp: m.timestamp };
}

function seqOf(m: KafkaMessage): string {
  return m.value ? (/^#(\d+);/.exec(m.value.subarray(0, 16).toString("latin1"))?.[1] ?? "?") : `null@${m.timestamp}`;
}

/** Same partitions, same messages in the same order, key/value/headers/timestamp byte for byte. */
function expectIdentical(source: Partitions, copy: Partitions): void {
  expect([...copy.keys()].sort()).toEqual([...source.keys()].sort());
  for (const [partition, messages] of source) {
    const copied = copy.get(partition) ?? [];
    expect({ partition, count: copied.length }).toEqual({ partition, count: messages.length });
    for (let i = 0; i < messages.length; i++) {
      const [a, b] = [fingerprint(messages[i]!), fingerprint(copied[i]!, true)];
      if (!Bun.deepEquals(a, b)) expect({ partition, index: i, ...b }).toEqual({ partition, index: i, ...a });
    }
  }
}

/**
 * At-least-once: every source message is in its partition, in order; copies
 * of redelivered messages may follow. Returns the number of duplicates.
 */
function expectNothingMissing(source: Partitions, copy: Partitions): number {
  let duplicates = 0;
  for (const [partition, messages] of source) {
    const copied = copy.get(partition) ?? [];
    const firstCopies: KafkaMessage[] = [];
    const seen = new Set<string>();
    for (const m of copied) {
      const id = seqOf(m);
      if (seen.has(id)) duplicates++;
      else {
        seen.add(id);
        firstCopies.push(m);
      }
    }
    expect({ partition, count: firstCopies.length }).toEqual({ partition, count: messages.length });
    for (let i = 0; i < messages.length; i++) {
      const [a, b] = [fingerprint(messages[i]!), fingerprint(firstCopies[i]!, true)];
      if (!Bun.deepEquals(a, b)) expect({ partition, index: i, ...b }).toEqual({ partition, index: i, ...a });
    }
  }
  return duplicates;
}

function k2k(args: string[], env: Record<string, string> = {}, timeoutMs = 90_000) {
  return runTool(TOOL, ["--config", CONFIG, "--log-dir", "none", "--log-format", "json", ...args], { env, timeoutMs });
}

function summaryOf(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
}

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return value === undefined ? undefined : String(Array.isArray(value) ? value[value.length - 1] : value);
}

async function sourceTopic(count: number, partitions = 3, valueBytes?: number) {
  const topic = uniqueName("k2k");
  await createTopic(topic, partitions, REMOTE);
  if (count > 0) await produce(topic, testMessages(count, partitions, valueBytes), REMOTE);
  return { topic, group: `${topic}-group` };
}

describe("kafka2kafka", () => {
  test("copies 20k messages byte for byte, partition by partition, and exits 0 when caught up", async () => {
    const { topic, group } = await sourceTopic(20_000);
    const run = await k2k(["--topic", topic, "--group", group, "--until-caught-up", "--json"]);
    expect(run.stderr).not.toContain('"level":"error"');
    expect(run.code).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({
      consumed: 20_000,
      copied: 20_000,
      dead_lettered: 0,
      skipped_by_loop_prevention: 0,
      committed: 20_000,
      remaining_lag: 0,
      stopped_by: "caught-up",
      topics: { [topic]: topic },
    });
    expect(run.stderr).toContain('"msg":"created destination topic"');
    const [source, copy] = await Promise.all([readTopic(REMOTE, topic), readTopic(LOCAL, topic)]);
    expect(copy.size).toBe(3);
    expectIdentical(source, copy);
  });

  test("a restart resumes: --max-messages 7000, then until caught up; nothing missing", async () => {
    const { topic, group } = await sourceTopic(12_000);
    const first = await k2k(["--topic", topic, "--group", group, "--max-messages", "7000", "--batch-size", "500", "--json"]);
    expect(first.code).toBe(0);
    expect(summaryOf(first.stdout)).toMatchObject({ consumed: 7000, copied: 7000, committed: 7000, stopped_by: "max-messages" });
    expect(await endOffsetTotal(LOCAL, topic)).toBe(7000);

    const second = await k2k(["--topic", topic, "--group", group, "--until-caught-up", "--json"]);
    expect(second.code).toBe(0);
    expect(summaryOf(second.stdout)).toMatchObject({ consumed: 5000, copied: 5000, remaining_lag: 0 });
    expectIdentical(await readTopic(REMOTE, topic), await readTopic(LOCAL, topic));
  });

  test("kill -9 mid-stream, then a rerun: nothing missing (duplicates allowed, counted)", async () => {
    const { topic, group } = await sourceTopic(60_000, 3, 400);
    const argv = [process.execPath, resolve(REPO_ROOT, TOOL), "--config", CONFIG, "--log-dir", "none", "--log-format", "json"];
    const victim = Bun.spawn([...argv, "--topic", topic, "--group", group, "--batch-size", "500"], { cwd: REPO_ROOT, stdout: "ignore", stderr: "ignore" });
    try {
      for (let waited = 0; (await endOffsetTotal(LOCAL, topic)) < 8_000; waited += 50) {
        if (victim.exitCode !== null || waited > 60_000) throw new Error(`kafka2kafka never got going (exit ${victim.exitCode})`);
        await Bun.sleep(50);
      }
    } finally {
      victim.kill("SIGKILL");
    }
    expect(await victim.exited).not.toBe(0);
    const copiedBeforeKill = await endOffsetTotal(LOCAL, topic);

    const rerun = await k2k(["--topic", topic, "--group", group, "--until-caught-up", "--json"]);
    expect(rerun.code).toBe(0);
    const summary = summaryOf(rerun.stdout);
    expect(summary).toMatchObject({ remaining_lag: 0, stopped_by: "caught-up" });
    expect(summary.copied).toBe(summary.consumed);

    const duplicates = expectNothingMissing(await readTopic(REMOTE, topic), await readTopic(LOCAL, topic));
    expect(await endOffsetTotal(LOCAL, topic)).toBe(60_000 + duplicates);
    console.log(
      `kill -9 test: ${copiedBeforeKill} copies before the kill, rerun consumed ${summary.consumed}; ` +
        `${duplicates} duplicates on the destination (allowed by at-least-once), 0 missing`,
    );
  });

  test("reads through the SCRAM-SHA-512 listener", async () => {
    const { topic, group } = await sourceTopic(3_000);
    const run = await k2k(["--from", "remote_kafka_scram", "--topic", topic, "--group", group, "--until-caught-up", "--json"]);
    expect(run.code).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ consumed: 3_000, copied: 3_000 });
    expectIdentical(await readTopic(REMOTE, topic), await readTopic(LOCAL, topic));
  });

  test("a wrong SCRAM password exits 1 with a clear message, without hanging", async () => {
    const { topic, group } = await sourceTopic(10);
    const run = await k2k(
      ["--from", "remote_kafka_scram", "--topic", topic, "--group", group, "--until-caught-up"],
      { KT_REMOTE_KAFKA_SCRAM_PASSWORD: "wrong" },
      30_000,
    );
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(1);
    const message = run.stderr.split("\n").find((line) => line.startsWith("kafka2kafka: error:"));
    expect(message).toContain(`kafka2kafka: error: cannot connect to the source [remote_kafka_scram] ${REMOTE_SCRAM.join(",")} sasl=scram-sha-512 user=replicator: `);
    expect(message).toContain("authentication failed");
    expect(run.stderr).not.toContain("wrong");
    expect(await endOffsetTotal(LOCAL, topic)).toBe(0);
  });

  test("provenance headers, and loop prevention in both directions", async () => {
    const { topic, group } = await sourceTopic(0, 1);
    const [remoteId, localId] = await Promise.all([
      withAdmin(REMOTE, async (a) => (await a.describeCluster()).clusterId),
      withAdmin(LOCAL, async (a) => (await a.describeCluster()).clusterId),
    ]);
    const messages: Message[] = Array.from({ length: 10 }, (_, i) => ({
      key: `k${i}`,
      value: `#${i};v`,
      // Every third message was copied here from the local cluster earlier.
      headers: i % 3 === 0 ? { [PROVENANCE_HEADERS.cluster]: localId, keep: "x" } : { keep: "x" },
    }));
    await produce(topic, messages, REMOTE);

    const run = await k2k(["--topic", topic, "--group", group, "--prefix", "remote.", "--provenance-headers", "--until-caught-up", "--json"]);
    expect(run.code).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ consumed: 10, copied: 6, skipped_by_loop_prevention: 4, committed: 10, topics: { [topic]: `remote.${topic}` } });
    const copies = (await readTopic(LOCAL, `remote.${topic}`)).get(0)!;
    expect(copies.map((m) => m.value?.toString())).toEqual(["#1;v", "#2;v", "#4;v", "#5;v", "#7;v", "#8;v"]);
    const sourceOffsets = [1, 2, 4, 5, 7, 8];
    copies.forEach((m, i) => {
      expect((m.headerList ?? []).map((h) => h.key)).toEqual(["keep", ...Object.values(PROVENANCE_HEADERS)]);
      expect(headerText(m.headers, PROVENANCE_HEADERS.cluster)).toBe(remoteId);
      expect(headerText(m.headers, PROVENANCE_HEADERS.topic)).toBe(topic);
      expect(headerText(m.headers, PROVENANCE_HEADERS.partition)).toBe("0");
      expect(headerText(m.headers, PROVENANCE_HEADERS.offset)).toBe(String(sourceOffsets[i]));
    });

    // Copying the copies back to the remote cluster: all of them came from there.
    const back = await k2k(["--from", "local_kafka", "--to", "remote_kafka", "--topic", `remote.${topic}`, "--prefix", "back.", "--group", `${group}-back`, "--until-caught-up", "--json"]);
    expect(back.code).toBe(0);
    expect(summaryOf(back.stdout)).toMatchObject({ consumed: 6, copied: 0, skipped_by_loop_prevention: 6 });
    expect(await endOffsetTotal(REMOTE, `back.remote.${topic}`)).toBe(0);
  });

  test("preserve refuses a destination with fewer partitions before copying; key partitioning accepts it", async () => {
    const { topic, group } = await sourceTopic(0, 3);
    await produce(topic, Array.from({ length: 30 }, (_, i) => ({ partition: i % 3, key: `user-${i % 5}`, value: `#${i};` })), REMOTE);
    await createTopic(topic, 1, LOCAL);

    const refused = await k2k(["--topic", topic, "--group", group, "--until-caught-up"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `destination topic '${topic}' on [local_kafka] has 1 partition(s), fewer than the 3 of source topic '${topic}'; --partitioning preserve`,
    );
    expect(await endOffsetTotal(LOCAL, topic)).toBe(0);

    const byKey = await k2k(["--topic", topic, "--group", group, "--partitioning", "key", "--until-caught-up", "--json"]);
    expect(byKey.code).toBe(0);
    expect(summaryOf(byKey.stdout)).toMatchObject({ consumed: 30, copied: 30 });
    const copies = (await readTopic(LOCAL, topic)).get(0)!;
    expect(copies.map(seqOf).sort()).toEqual(Array.from({ length: 30 }, (_, i) => String(i)).sort());
  });

  test("a message the destination refuses as too large goes to the dead-letter topic; the rest is copied", async () => {
    const { topic, group } = await sourceTopic(0, 1);
    const messages: Message[] = Array.from({ length: 11 }, (_, i) => ({ key: `k${i}`, value: i === 5 ? Buffer.alloc(20_000, 7) : `#${i};small` }));
    await produce(topic, messages, REMOTE);
    await createTopic(topic, 1, LOCAL, [{ name: "max.message.bytes", value: "4096" }]);

    const run = await k2k(["--topic", topic, "--group", group, "--until-caught-up", "--json"]);
    expect(run.code).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ consumed: 11, copied: 10, dead_lettered: 1, committed: 11 });
    const copies = (await readTopic(LOCAL, topic)).get(0)!;
    expect(copies.map((m) => m.key?.toString())).toEqual(["k0", "k1", "k2", "k3", "k4", "k6", "k7", "k8", "k9", "k10"]);

    const letters = (await readTopic(REMOTE, `${topic}.dlq`)).get(0)!;
    expect(letters).toHaveLength(1);
    expect(letters[0]!.value?.length).toBe(20_000);
    expect(headerText(letters[0]!.headers, DLQ_HEADERS.stage)).toBe("sink");
    expect(headerText(letters[0]!.headers, DLQ_HEADERS.reason)).toContain("too large");
    expect(headerText(letters[0]!.headers, DLQ_HEADERS.sourceOffset)).toBe("5");
  });

  test("headers written by the Java client are copied as written: order, repeated names, null values, bytes", async () => {
    const topic = uniqueName("k2k-java-headers");
    await javaProduce([{ topic, compression: "lz4", plan: "headers:25" }], REMOTE);
    const remoteId = await withAdmin(REMOTE, async (a) => (await a.describeCluster()).clusterId);
    const written = (n: number) => javaHeaders(n).map(([name, value]): [string | null, string | null] => [hex(name), hex(value)]);
    const nOf = (m: KafkaMessage) => Number(JSON.parse(m.value!.toString()).n);

    const run = await k2k(["--topic", topic, "--group", uniqueName("g"), "--until-caught-up", "--json"]);
    expect(run.code).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ consumed: 25, copied: 25, dead_lettered: 0 });
    const copies = [...(await readTopic(LOCAL, topic)).values()].flat();
    expect(copies.length).toBe(25);
    for (const copy of copies) {
      expect(headerBytes(copy)).toEqual([...written(nOf(copy)), [hex(PROVENANCE_HEADERS.cluster), hex(remoteId)]]);
    }

    // --no-provenance: the copy's headers are exactly the source's.
    const exact = await k2k(["--topic", topic, "--dest-topic", `${topic}.exact`, "--group", uniqueName("g"), "--no-provenance", "--until-caught-up", "--json"]);
    expect(exact.code).toBe(0);
    const exactCopies = [...(await readTopic(LOCAL, `${topic}.exact`)).values()].flat();
    expect(exactCopies.length).toBe(25);
    for (const copy of exactCopies) expect(headerBytes(copy)).toEqual(written(nOf(copy)));
  }, 180_000);
});
