import { describe, expect, test } from "bun:test";
import { DLQ_HEADERS } from "../../lib/sinks/dead-letter-topic.ts";
import {
  Steps,
  createTopic,
  documentOffsets,
  headerText,
  produce,
  progressSoFar,
  produceJson,
  readAll,
  runStack,
  serverPid,
  runToolToEnd,
  startTool,
  stderrTail,
  uniqueName,
  waitFor,
  withMongo,
} from "../helpers/stack-fixtures.ts";

const TOOL = "tools/kafka2mongo.ts";

/**
 * Budgets of the FerretDB outage test's steps, sized from measured times
 * (KT_TEST_STEP_LOG, 20 runs after the full suite on a loaded machine, see
 * the CI-flake note of issue 17) with a wide margin; the test's own timeout
 * is their sum plus the setup, so a slow step fails under its own name.
 */
const OUTAGE_BUDGETS = { progress: 60_000, outage: 45_000, restart: 60_000, resume: 45_000, exit: 60_000, count: 60_000 };
const OUTAGE_TEST_TIMEOUT_MS = Object.values(OUTAGE_BUDGETS).reduce((a, b) => a + b, 0) + 60_000;
const DB = "toolkit_tests";

interface Run {
  topic: string;
  group: string;
  collection: string;
}

async function newTopic(count: number, partitions = 3): Promise<Run> {
  const topic = uniqueName("k2m");
  await createTopic(topic, partitions);
  if (count > 0) await produceJson(topic, count);
  return { topic, group: `${topic}-group`, collection: topic };
}

function args(run: Run, ...extra: string[]): string[] {
  return ["--topic", run.topic, "--group", run.group, "--db", DB, "--collection", run.collection, "--json", ...extra];
}

function summaryOf(stdout: string): Record<string, number | string | null> {
  const line = stdout.trim().split("\n").pop() ?? "{}";
  return JSON.parse(line);
}

async function countDocuments(collection: string, filter = {}): Promise<number> {
  return withMongo((client) => client.db(DB).collection(collection).countDocuments(filter));
}

/** Every offset of the topic is exactly one document: none missing, none twice. */
async function expectExactlyOneDocumentPerMessage(run: Run, total: number): Promise<void> {
  const offsets = await documentOffsets(DB, run.collection);
  expect(new Set(offsets).size).toBe(offsets.length);
  expect(offsets.length).toBe(total);
}

describe("kafka2mongo", () => {
  test("lands 10k messages with their Kafka metadata, exact count, and exits 0 when caught up", async () => {
    const run = await newTopic(10_000);
    const { code, stdout, stderr } = await runToolToEnd(TOOL, args(run, "--until-caught-up"));
    expect(stderr).not.toContain('"level":"error"');
    expect(code).toBe(0);
    expect(summaryOf(stdout)).toMatchObject({ consumed: 10_000, inserted: 10_000, duplicates: 0, dead_lettered: 0, remaining_lag: 0, stopped_by: "caught-up" });
    await expectExactlyOneDocumentPerMessage(run, 10_000);

    const doc = await withMongo((client) => client.db(DB).collection(run.collection).findOne({ seq: 42 }));
    expect(doc).toMatchObject({ seq: 42, user_id: "42", _kafka_key: "user-42", _kafka_topic: run.topic, _kafka_headers: {} });
    expect(String(doc?._id)).toBe(`${run.topic}:${doc?._kafka_partition}:${doc?._kafka_offset}`);
    expect(doc?._kafka_timestamp).toBeInstanceOf(Date);
    expect(doc?._processed_at).toBeInstanceOf(Date);
  });

  test("a restart mid-stream resumes without loss or duplicates", async () => {
    const run = await newTopic(6_000);
    const first = await runToolToEnd(TOOL, args(run, "--max-messages", "2500", "--batch-size", "300"));
    expect(first.code).toBe(0);
    expect(summaryOf(first.stdout)).toMatchObject({ consumed: 2500, committed: 2500, stopped_by: "max-messages" });
    expect(await countDocuments(run.collection)).toBe(2500);

    const second = await runToolToEnd(TOOL, args(run, "--until-caught-up"));
    expect(second.code).toBe(0);
    expect(summaryOf(second.stdout)).toMatchObject({ consumed: 3500, inserted: 3500, duplicates: 0 });
    await expectExactlyOneDocumentPerMessage(run, 6_000);
  });

  test("kill -9 mid-stream, then a rerun: exact count", async () => {
    const run = await newTopic(20_000);
    const victim = startTool(TOOL, args(run, "--batch-size", "200"));
    await waitFor(async () => progressSoFar(victim) >= 3_000, "progress before kill");
    victim.proc.kill("SIGKILL");
    expect(await victim.exited).not.toBe(0);

    const rerun = await runToolToEnd(TOOL, args(run, "--until-caught-up"));
    expect(rerun.code).toBe(0);
    const summary = summaryOf(rerun.stdout);
    // Whatever was written but not yet committed comes back as duplicates, never as copies.
    expect(Number(summary.inserted) + Number(summary.duplicates)).toBe(Number(summary.consumed));
    await expectExactlyOneDocumentPerMessage(run, 20_000);
  });

  test("poison messages go to the dead-letter topic with reason headers; the run goes on", async () => {
    const run = await newTopic(0, 1);
    await produce(run.topic, [
      { value: JSON.stringify({ ok: 1 }) },
      { key: "bad-json", value: "{not json", headers: { trace: "t-1" } },
      { value: Buffer.from([0xc3, 0x28]) },
      { value: JSON.stringify({ $where: "x" }) },
      { value: JSON.stringify({ ok: 2 }) },
      { value: JSON.stringify([1, 2, 3]) },
      { value: null },
    ]);
    const { code, stdout } = await runToolToEnd(TOOL, args(run, "--until-caught-up"));
    expect(code).toBe(0);
    expect(summaryOf(stdout)).toMatchObject({ consumed: 7, inserted: 4, dead_lettered: 3, committed: 7 });
    expect(await countDocuments(run.collection, { value: [1, 2, 3] })).toBe(1);
    expect(await countDocuments(run.collection, { _kafka_offset: 6, value: null })).toBe(1);

    const letters = await readAll(`${run.topic}.dlq`);
    const byOffset = new Map(letters.map((m) => [headerText(m.headers, DLQ_HEADERS.sourceOffset), m]));
    expect([...byOffset.keys()].sort()).toEqual(["1", "2", "3"]);
    const badJson = byOffset.get("1")!;
    expect(badJson.key?.toString()).toBe("bad-json");
    expect(badJson.value?.toString()).toBe("{not json");
    expect(headerText(badJson.headers, "trace")).toBe("t-1");
    expect(headerText(badJson.headers, DLQ_HEADERS.stage)).toBe("parse");
    expect(headerText(badJson.headers, DLQ_HEADERS.reason)).toContain("invalid JSON");
    expect(headerText(badJson.headers, DLQ_HEADERS.sourceTopic)).toBe(run.topic);
    expect(headerText(badJson.headers, DLQ_HEADERS.sourcePartition)).toBe("0");
    expect(headerText(badJson.headers, DLQ_HEADERS.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(Buffer.compare(byOffset.get("2")!.value!, Buffer.from([0xc3, 0x28]))).toBe(0);
    expect(headerText(byOffset.get("2")!.headers, DLQ_HEADERS.reason)).toContain("invalid UTF-8");
    expect(headerText(byOffset.get("3")!.headers, DLQ_HEADERS.stage)).toBe("sink");
  });

  test("--on-error stop exits 1 naming the message, and does not commit past it", async () => {
    const run = await newTopic(0, 1);
    await produce(run.topic, [{ value: '{"a":1}' }, { value: '{"a":2}' }, { value: "oops" }, { value: '{"a":3}' }]);
    const { code, stderr } = await runToolToEnd(TOOL, args(run, "--on-error", "stop", "--until-caught-up"));
    expect(code).toBe(1);
    expect(stderr).toContain(`kafka2mongo: error: message ${run.topic}/0@2 failed at parse: invalid JSON`);
    // The rerun starts at the bad message again, so it is never skipped silently;
    // the good message after it was written but not committed, so it is a duplicate.
    const rerun = await runToolToEnd(TOOL, args(run, "--until-caught-up"));
    expect(rerun.code).toBe(0);
    expect(summaryOf(rerun.stdout)).toMatchObject({ consumed: 2, dead_lettered: 1, inserted: 0, duplicates: 1 });
  });

  test("SIGTERM drains the batch in flight, commits it and exits 0", async () => {
    const run = await newTopic(20_000);
    const tool = startTool(TOOL, args(run, "--batch-size", "200"));
    await waitFor(async () => progressSoFar(tool) >= 2_000, "progress before SIGTERM");
    tool.proc.kill("SIGTERM");
    expect(await tool.exited).toBe(0);
    const summary = summaryOf(await tool.stdout);
    expect(summary.stopped_by).toBe("signal");
    expect(summary.committed).toBe(summary.consumed);

    const rerun = await runToolToEnd(TOOL, args(run, "--until-caught-up"));
    expect(rerun.code).toBe(0);
    expect(summaryOf(rerun.stdout)).toMatchObject({ duplicates: 0 });
    await expectExactlyOneDocumentPerMessage(run, 20_000);
  });

  test("--from-beginning replays an existing group from the earliest offset", async () => {
    const run = await newTopic(1_000);
    expect((await runToolToEnd(TOOL, args(run, "--until-caught-up"))).code).toBe(0);
    const again = await runToolToEnd(TOOL, args(run, "--until-caught-up"));
    expect(summaryOf(again.stdout)).toMatchObject({ consumed: 0 });

    const replay = await runToolToEnd(TOOL, args(run, "--until-caught-up", "--from-beginning"));
    expect(replay.code).toBe(0);
    expect(summaryOf(replay.stdout)).toMatchObject({ consumed: 1_000, inserted: 0, duplicates: 1_000 });
    await expectExactlyOneDocumentPerMessage(run, 1_000);
  });

  test(
    "FerretDB stopped during a run and started again: nothing lost",
    async () => {
      const run = await newTopic(20_000);
      const steps = new Steps("FerretDB stopped and started again");
      const tool = startTool(TOOL, args(run, "--batch-size", "200", "--until-caught-up"));
      const toolLog = () => stderrTail(tool);
      try {
        await steps.until("progress before the outage", OUTAGE_BUDGETS.progress, () => progressSoFar(tool) >= 2_000, toolLog);
        process.kill(serverPid("ferretdb"), "SIGKILL");
        // Down until a write has failed a second time: the tool backed off and
        // retried, waiting for the server, with its consumer stalled (and heartbeating).
        await steps.until("the tool to retry during the outage", OUTAGE_BUDGETS.outage, () => tool.stderrSoFar().includes('"attempt":2'), toolLog);
        const restart = runStack("up");
        expect(await steps.run("restart of FerretDB (stack up)", OUTAGE_BUDGETS.restart, restart.exited, restart.output)).toBe(0);
        await steps.until("progress after the restart", OUTAGE_BUDGETS.resume, () => tool.stderrSoFar().includes("succeeded again"), toolLog);
        expect(await steps.run("exit once caught up", OUTAGE_BUDGETS.exit, tool.exited, toolLog)).toBe(0);
        await steps.run("count of the documents", OUTAGE_BUDGETS.count, expectExactlyOneDocumentPerMessage(run, 20_000));
        steps.done();
      } finally {
        tool.proc.kill("SIGKILL");
      }
    },
    OUTAGE_TEST_TIMEOUT_MS,
  );

  test("usage and configuration errors exit 2 with one line", async () => {
    const unknown = await runToolToEnd(TOOL, ["--topik", "x"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe("kafka2mongo: unknown flag --topik (see --help)");

    const badSection = await runToolToEnd(TOOL, ["--topic", "x", "--kafka", "nope"]);
    expect(badSection.code).toBe(2);
    expect(badSection.stderr).toContain("no section [nope]");

    const help = await runToolToEnd(TOOL, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("bun tools/kafka2mongo.ts --topic logins --until-caught-up");
  });

  test("a missing topic is a runtime error naming it", async () => {
    const { code, stderr } = await runToolToEnd(TOOL, ["--topic", uniqueName("missing"), "--group", "g", "--until-caught-up"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/kafka2mongo: error: topic '.*' does not exist/);
  });
});
