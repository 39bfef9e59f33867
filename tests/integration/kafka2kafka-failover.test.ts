/**
 * kafka2kafka's offset syncs and consumer-group failover on the two clusters
 * of the local stack, and loop prevention by default: a group that consumed
 * 400 of 1000 messages on the source resumes on the destination exactly at
 * the 401st copy, although the destination topic held 50 other messages
 * first; a group with an active member on the destination is left alone;
 * copying back under the same names copies nothing; --no-provenance refuses
 * that two-way setup.
 */
import { describe, expect, test } from "bun:test";
import { kafkaSection } from "../../lib/config/kafka-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import type { GroupSyncRow } from "../../lib/replication/group-sync.ts";
import { createTopic, kafkaClient, produce, runToolToEnd, STACK_CONFIG, Steps, uniqueName, withAdmin } from "../helpers/stack-fixtures.ts";

const REMOTE = kafkaSection(loadConfigSource(STACK_CONFIG), "remote_kafka").brokers;

function summaryOf(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
}

/** The value of the first message a member of `group` reads from `topic` on the local cluster. */
async function firstRead(group: string, topic: string): Promise<string> {
  const consumer = kafkaClient().consumer({ groupId: group, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    // fromBeginning: false would also hide a missing commit (it starts at the end); true shows it.
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    return await new Promise<string>((resolve) => {
      void consumer.run({ autoCommit: false, eachMessage: async ({ message }) => resolve(message.value!.toString()) });
    });
  } finally {
    await consumer.disconnect();
  }
}

describe("kafka2kafka failover", () => {
  test("--sync-groups: a group that consumed 400 of 1000 resumes on the destination at the 401st copy", async () => {
    const steps = new Steps("kafka2kafka --sync-groups");
    const topic = uniqueName("k2k-failover");
    const app = uniqueName("app");
    await steps.run("prepare topics", 60_000, (async () => {
      await createTopic(topic, 1, REMOTE);
      await produce(topic, Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: `#${i}` })), REMOTE);
      await createTopic(topic, 1);
      await produce(topic, Array.from({ length: 50 }, (_, i) => ({ value: `other-${i}` })));
      // The application's group has consumed (and committed) the first 400 on the source.
      await withAdmin(REMOTE, (admin) => admin.setOffsets({ groupId: app, topic, partitions: [{ partition: 0, offset: "400" }] }));
    })());

    const run = await steps.run("kafka2kafka", 120_000, runToolToEnd("tools/kafka2kafka.ts", [
      "--topic", topic, "--group", uniqueName("k2k"), "--sync-groups", `^${app}$`, "--until-caught-up", "--json",
    ]));
    expect(run.stderr).not.toContain('"level":"error"');
    expect(run.code).toBe(0);
    const summary = summaryOf(run.stdout);
    expect(summary).toMatchObject({ consumed: 1000, copied: 1000 });
    expect(summary.group_sync as GroupSyncRow[]).toEqual([
      {
        group: app, topic, partition: 0, source_offset: "400", source_end: "1000", source_lag: 600,
        target: topic, translated: "450", destination_offset: "450", destination_end: "1050", destination_lag: 600, action: "written",
      },
    ]);
    expect(await steps.run("read on the destination", 60_000, firstRead(app, topic))).toBe("#400");
    steps.done();
  });

  test("--sync-groups leaves a group alone while it has an active member on the destination", async () => {
    const steps = new Steps("kafka2kafka --sync-groups, active group");
    const topic = uniqueName("k2k-failover-active");
    const app = uniqueName("app");
    await steps.run("prepare topics", 60_000, (async () => {
      await createTopic(topic, 1, REMOTE);
      await produce(topic, Array.from({ length: 100 }, (_, i) => ({ value: `#${i}` })), REMOTE);
      await createTopic(topic, 1);
      await withAdmin(REMOTE, (admin) => admin.setOffsets({ groupId: app, topic, partitions: [{ partition: 0, offset: "40" }] }));
    })());
    // A member of the group consumes on the destination already (and commits nothing).
    const member = kafkaClient().consumer({ groupId: app, maxWaitTimeInMs: 100 });
    try {
      await steps.run("member joins on the destination", 60_000, (async () => {
        const joined = new Promise<void>((resolve) => member.on(member.events.GROUP_JOIN, () => resolve()));
        await member.connect();
        await member.subscribe({ topics: [topic], fromBeginning: true });
        await member.run({ autoCommit: false, eachMessage: async () => {} });
        await joined;
      })());
      const run = await steps.run("kafka2kafka", 120_000, runToolToEnd("tools/kafka2kafka.ts", [
        "--topic", topic, "--group", uniqueName("k2k"), "--sync-groups", `^${app}$`, "--until-caught-up", "--json",
      ]));
      expect(run.code).toBe(0);
      expect(summaryOf(run.stdout).group_sync).toMatchObject([{ group: app, source_offset: "40", translated: "40", destination_offset: null, action: "active" }]);
    } finally {
      await member.disconnect();
    }
    const [committed] = await withAdmin(undefined, (admin) => admin.fetchOffsets({ groupId: app, topics: [topic] }));
    expect(committed!.partitions[0]!.offset).toBe("-1");
    steps.done();
  });

  test("both ways under the same names: nothing loops back; --no-provenance refuses the two-way setup", async () => {
    const topic = uniqueName("k2k-two-way");
    await createTopic(topic, 1, REMOTE);
    await produce(topic, Array.from({ length: 20 }, (_, i) => ({ value: `#${i}` })), REMOTE);
    const there = await runToolToEnd("tools/kafka2kafka.ts", ["--topic", topic, "--group", uniqueName("k2k"), "--until-caught-up", "--json"]);
    expect(there.code).toBe(0);

    const back = ["--from", "local_kafka", "--to", "remote_kafka", "--topic", topic, "--group", uniqueName("k2k-back"), "--until-caught-up", "--json"];
    const refused = await runToolToEnd("tools/kafka2kafka.ts", [...back, "--no-provenance"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--no-provenance cannot protect a two-way setup: [remote_kafka] topic '${topic}' is copied back into '${topic}' on [local_kafka]`);

    const returned = await runToolToEnd("tools/kafka2kafka.ts", back);
    expect(returned.code).toBe(0);
    expect(summaryOf(returned.stdout)).toMatchObject({ consumed: 20, copied: 0, skipped_by_loop_prevention: 20 });
  });
});
