/**
 * The `transaction` commit strategy on the real stack: kafka2kafka on one
 * cluster with --commit transaction is killed with SIGKILL mid-run and
 * restarted; a read_committed reader of the destination sees every source
 * message exactly once.
 */
import { describe, expect, test } from "bun:test";
import {
  createTopic,
  kafkaClient,
  produce,
  startTool,
  uniqueName,
  waitFor,
  withAdmin,
  runToolToEnd,
} from "../helpers/stack-fixtures.ts";

const TOOL = "tools/kafka2kafka.ts";
const MESSAGES = 20_000;
const PARTITIONS = 3;

/** Sum of the group's committed offsets over a topic. */
async function committed(groupId: string, topic: string): Promise<number> {
  return withAdmin(undefined, async (admin) => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  });
}

/**
 * Values a read_committed consumer sees, reading to the topic's current end
 * (past commit and abort markers, which kafkajs reports only as batch offsets).
 */
async function readCommittedValues(topic: string): Promise<string[]> {
  const ends = await withAdmin(undefined, (admin) => admin.fetchTopicOffsets(topic));
  const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  const values: string[] = [];
  const groupId = uniqueName("eo-reader");
  const consumer = kafkaClient().consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  try {
    await new Promise<void>((done, fail) => {
      if (remaining.size === 0) return done();
      const timer = setTimeout(() => fail(new Error(`reading ${topic} did not reach its end offsets`)), 120_000);
      // Emitted once a batch's messages were handled, and for batches of markers only.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const end = remaining.get(payload.partition);
        if (end !== undefined && BigInt(payload.lastOffset) + 1n >= end) {
          remaining.delete(payload.partition);
          if (remaining.size === 0) {
            clearTimeout(timer);
            done();
          }
        }
      });
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value!.toString());
        },
      });
    });
    await consumer.stop();
  } finally {
    await consumer.disconnect();
  }
  return values;
}

describe("kafka2kafka --commit transaction", () => {
  test(
    "exactly once for read_committed readers across a kill -9 and restart",
    async () => {
      const source = uniqueName("eo-src");
      const destination = `eo.${source}`;
      const groupId = uniqueName("eo-group");
      await createTopic(source, PARTITIONS);
      await produce(
        source,
        Array.from({ length: MESSAGES }, (_, i) => ({ partition: i % PARTITIONS, key: `k${i}`, value: `m-${i}` })),
      );
      const args = [
        "--from", "local_kafka", "--to", "local_kafka",
        "--topic", source, "--prefix", "eo.", "--group", groupId,
        "--commit", "transaction", "--batch-size", "100", "--log-format", "json",
      ];

      const first = startTool(TOOL, args);
      await waitFor(async () => (await committed(groupId, source)) >= 1000, "the first run to commit 1000 messages in transactions", 120_000);
      first.proc.kill("SIGKILL");
      await first.exited;
      const committedAtKill = await committed(groupId, source);
      expect(committedAtKill, "the kill came after the run finished; the test proves nothing").toBeLessThan(MESSAGES);

      const second = await runToolToEnd(TOOL, [...args, "--until-caught-up", "--json"]);
      expect(second.code, second.stderr).toBe(0);
      expect(JSON.parse(second.stdout.trim().split("\n").at(-1)!).remaining_lag).toBe(0);

      const values = await readCommittedValues(destination);
      const seen = new Map<string, number>();
      for (const value of values) seen.set(value, (seen.get(value) ?? 0) + 1);
      const duplicated = [...seen].filter(([, n]) => n > 1).map(([v]) => v);
      const missing = Array.from({ length: MESSAGES }, (_, i) => `m-${i}`).filter((v) => !seen.has(v));
      expect({ duplicated: duplicated.slice(0, 5), missing: missing.slice(0, 5) }).toEqual({ duplicated: [], missing: [] });
      expect(values).toHaveLength(MESSAGES);
    },
    300_000,
  );

  test("refuses --commit transaction across two clusters with exit 2", async () => {
    const result = await runToolToEnd(TOOL, [
      "--from", "remote_kafka", "--to", "local_kafka", "--topic", uniqueName("absent"), "--commit", "transaction", "--until-caught-up",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--commit transaction needs --from and --to on one cluster");
  });
});
