/**
 * process-events against the real local Kafka: the user-login pipeline over a
 * seeded user-login-mix, exactly once across kill -9 at random moments, and
 * two members of one group where one is paused past its session timeout
 * (a zombie) and must be fenced when it wakes up. Outputs are read with
 * read_committed, as a downstream consumer would.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { readFrame } from "../../lib/avro/framing.ts";
import { createRegistryClient } from "../../lib/avro/registry-client.ts";
import { avroType } from "../../lib/avro/types.ts";
import { schemaRegistrySection } from "../../lib/config/schema-registry-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import type { KafkaMessage } from "kafkajs";
import { createGenerator } from "../../lib/generate/generator.ts";
import { readTopicToEnd } from "../../lib/inspect/read-topic.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { processEvent } from "../../lib/processors/event-steps.ts";
import { sha256Hex } from "../../lib/processors/hash.ts";
import { buildEventSteps, loadPipelineFile } from "../../lib/processors/pipeline-file.ts";
import { epochToIso } from "../../lib/processors/timestamp.ts";
import {
  createTopic,
  headerText,
  STACK_CONFIG,
  kafkaClient,
  produce,
  progressSoFar,
  runToolToEnd,
  startTool,
  stderrTail,
  Steps,
  uniqueName,
  type ToolProcess,
} from "../helpers/stack-fixtures.ts";

const TOOL = "tools/process-events.ts";
/** Input size of the kill -9 test; 50k fits in about a minute on an idle machine. */
const KILL_TEST_MESSAGES = Number(process.env.PROCESS_EVENTS_TEST_MESSAGES ?? 20_000);
const KILLS = 5;
const steps = buildEventSteps(loadPipelineFile("config/pipelines/user-login.json"), { env: {} });

const started: ToolProcess[] = [];
afterAll(() => {
  for (const tool of started) tool.proc.kill("SIGKILL");
});

interface Topics {
  input: string;
  processed: string;
  errors: string;
  filtered: string;
  summary: string;
}

function topicsFor(name: string): Topics {
  const base = uniqueName(name);
  return { input: `${base}.in`, processed: `${base}.processed`, errors: `${base}.errors`, filtered: `${base}.filtered`, summary: `${base}.summary` };
}

function toolArgs(topics: Topics, group: string): string[] {
  return [
    "--in", topics.input, "--out", topics.processed, "--errors-topic", topics.errors,
    "--filtered-topic", topics.filtered, "--summary-topic", topics.summary, "--summary-every", "1000",
    "--group", group, "--batch-size", "500", "--log-interval", "500", "--session-timeout-ms", "6000",
  ];
}

async function readCommitted(topic: string): Promise<(KafkaMessage & { partition: number })[]> {
  const out: (KafkaMessage & { partition: number })[] = [];
  const result = await readTopicToEnd(kafkaClient(), topic, {
    // Returns nothing: a returned number would end the read after that many messages.
    onMessages: (partition, messages) => {
      out.push(...messages.map((m) => ({ ...m, partition })));
    },
    idleTimeoutMs: 30_000,
    log: silentLogger,
  });
  if (!result.complete) throw new Error(`reading ${topic} did not reach its end (${result.stoppedBy})`);
  return out;
}

async function groupLag(group: string, topic: string): Promise<number> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    return ends.reduce((lag, end) => {
      const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? "-1";
      return lag + Number(end.high) - Math.max(0, Number(at));
    }, 0);
  } finally {
    await admin.disconnect();
  }
}

async function seedInput(topics: Topics, partitions: number, count: number, seed: number) {
  await createTopic(topics.input, partitions);
  await produce(topics.input, loginMix(count, seed));
}

function loginMix(count: number, seed: number) {
  return createGenerator({ kind: "user-login-mix", seed, key: "field" }).batch(count).map(({ key, value }) => ({ key, value }));
}

/** Everything the issue asks of the outputs, checked against the input as read back from Kafka. */
async function expectExactlyOnce(topics: Topics, count: number) {
  return expectResults(topics, count, "exactly-once");
}

/**
 * Every input message has a result of the right kind with the right content;
 * exactly once, or at least once (then repeats are counted, and summaries must
 * cover every input message without the exact-once accounting).
 */
async function expectResults(topics: Topics, count: number, delivery: "exactly-once" | "at-least-once") {
  const input = await readCommitted(topics.input);
  expect(input.length).toBe(count);
  const byOffset = new Map(input.map((m) => [`${m.partition}@${m.offset}`, m]));

  const seen = new Map<string, string>();
  const twice: string[] = [];
  const wrongOutcome: string[] = [];
  const record = (kind: string, message: KafkaMessage) => {
    const id = `${headerText(message.headers, "x-source-partition")}@${headerText(message.headers, "x-source-offset")}`;
    const at = `${kind} ${(message as { partition?: number }).partition}@${message.offset}`;
    if (seen.has(id)) twice.push(`${id} as ${seen.get(id)} and ${at}`);
    seen.set(id, at);
    const source = byOffset.get(id);
    if (!source) throw new Error(`${kind} message for unknown source offset ${id}`);
    const expected = processEvent(source.value, steps);
    if (expected.kind !== kind) wrongOutcome.push(`${id}: ${kind}, expected ${expected.kind}`);
    return { source, expected };
  };

  const processed = await readCommitted(topics.processed);
  const filtered = await readCommitted(topics.filtered);
  const errors = await readCommitted(topics.errors);
  for (const message of processed) {
    const { source } = record("processed", message);
    const event = JSON.parse(String(message.value));
    const original = JSON.parse(String(source.value));
    expect(event.ip).toBe(sha256Hex(original.ip));
    expect(event.device_id).toBe(sha256Hex(original.device_id));
    expect(event.timestamp).toBe(epochToIso(original.timestamp));
    expect(event.timestamp).toBe(new Date(original.timestamp > 1e11 ? original.timestamp : original.timestamp * 1000).toISOString());
    expect(String(message.key)).toBe(String(source.key));
  }
  for (const message of filtered) record("filtered", message);
  for (const message of errors) {
    const { source } = record("error", message);
    expect(Buffer.compare(message.value ?? Buffer.alloc(0), source.value ?? Buffer.alloc(0))).toBe(0);
    expect(headerText(message.headers, "x-dlq-reason")).toBeTruthy();
  }
  expect(wrongOutcome).toEqual([]);
  expect(seen.size).toBe(count);
  if (delivery === "at-least-once") {
    const summaries = (await readCommitted(topics.summary)).map((m) => JSON.parse(String(m.value)));
    const covered = new Set<string>();
    for (const s of summaries) {
      for (let o = BigInt(s.from_offset); o <= BigInt(s.to_offset); o++) covered.add(`${s.partition}@${o}`);
    }
    expect(input.filter((m) => !covered.has(`${m.partition}@${m.offset}`)).length).toBe(0);
    return { processed: processed.length, filtered: filtered.length, errors: errors.length, repeated: twice.length, summaries: summaries.length };
  }
  expect(twice).toEqual([]);
  expect(processed.length + filtered.length + errors.length).toBe(count);

  // Summaries: each input offset in exactly one window, counts adding up to the outputs.
  const summaries = (await readCommitted(topics.summary)).map((m) => JSON.parse(String(m.value)));
  const covered = new Set<string>();
  let overlap = 0;
  for (const s of summaries) {
    for (const m of input) {
      if (m.partition !== s.partition || BigInt(m.offset) < BigInt(s.from_offset) || BigInt(m.offset) > BigInt(s.to_offset)) continue;
      const id = `${m.partition}@${m.offset}`;
      if (covered.has(id)) overlap++;
      covered.add(id);
    }
  }
  const total = (field: string) => summaries.reduce((sum, s) => sum + s[field], 0);
  expect({ overlap, covered: covered.size }).toEqual({ overlap: 0, covered: count });
  expect(total("messages")).toBe(count);
  expect({ processed: total("processed"), filtered: total("filtered"), errors: total("errors") }).toEqual({
    processed: processed.length,
    filtered: filtered.length,
    errors: errors.length,
  });
  const deviceTypes = summaries.reduce((sum, s) => sum + Object.values(s.device_types as Record<string, number>).reduce((a, b) => a + b, 0), 0);
  expect(deviceTypes).toBe(processed.length);
  return { processed: processed.length, filtered: filtered.length, errors: errors.length, summaries: summaries.length };
}

describe("process-events", () => {
  test(`kill -9 at ${KILLS} random moments, then --until-caught-up: every input message once, summaries add up`, async () => {
    const steps = new Steps("process-events kill -9");
    const topics = topicsFor("pe-kill");
    const group = uniqueName("pe-kill-group");
    await steps.run("seed the input", 120_000, seedInput(topics, 3, KILL_TEST_MESSAGES, 42));

    const kills: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const victim = startTool(TOOL, toolArgs(topics, group));
      started.push(victim);
      // A random moment once records flow: after 500..KILL_TEST_MESSAGES/8 committed in this run.
      const target = 500 + Math.floor(Math.random() * Math.max(1, KILL_TEST_MESSAGES / 8 - 500));
      // Or until nothing is left: at 10k+ msg/s the earlier runs can get through the whole input
      // between a progress line and the kill, and this run then has nothing to commit.
      const doneOrAll = async () =>
        progressSoFar(victim) >= target || victim.proc.exitCode !== null || (await groupLag(group, topics.input)) === 0;
      await steps.until(`run ${i + 1} to commit ${target} messages or the input to run out`, 120_000, doneOrAll, () => stderrTail(victim));
      await Bun.sleep(Math.floor(Math.random() * 300));
      victim.proc.kill("SIGKILL");
      await victim.exited;
      kills.push(progressSoFar(victim));
    }
    const final = await steps.run("the final --until-caught-up run", 180_000, runToolToEnd(TOOL, [...toolArgs(topics, group), "--until-caught-up", "--json"]));
    expect(final.code, final.stderr).toBe(0);
    const summary = JSON.parse(final.stdout);
    expect(summary.stopped_by).toBe("caught-up");

    const outcome = await steps.run("read and check the outputs", 120_000, expectExactlyOnce(topics, KILL_TEST_MESSAGES));
    steps.done();
    console.log(`process-events kill -9 test: ${KILL_TEST_MESSAGES} messages, progress at the kills ${kills.join(", ")}; final run consumed ${summary.consumed}; outputs ${JSON.stringify(outcome)}`);
  }, 600_000);

  test("--delivery at-least-once across a kill -9: every input message has its result, repeats only of uncommitted chunks", async () => {
    const steps = new Steps("process-events at-least-once");
    const topics = topicsFor("pe-alo");
    const group = uniqueName("pe-alo-group");
    const count = 6_000;
    await steps.run("seed the input", 60_000, seedInput(topics, 3, count, 11));
    const args = [...toolArgs(topics, group), "--delivery", "at-least-once"];

    const victim = startTool(TOOL, args);
    started.push(victim);
    await steps.until("the first run to commit 1000 messages", 120_000, () => progressSoFar(victim) >= 1000 || victim.proc.exitCode !== null, () => stderrTail(victim));
    victim.proc.kill("SIGKILL");
    await victim.exited;
    const final = await steps.run("the --until-caught-up run", 120_000, runToolToEnd(TOOL, [...args, "--until-caught-up", "--json"]));
    expect(final.code, final.stderr).toBe(0);
    const summary = JSON.parse(final.stdout);
    expect({ stopped_by: summary.stopped_by, remaining_lag: summary.remaining_lag, delivery: summary.delivery }).toEqual({
      stopped_by: "caught-up",
      remaining_lag: 0,
      delivery: "at-least-once",
    });

    const outcome = await steps.run("read and check the outputs", 120_000, expectResults(topics, count, "at-least-once"));
    // A repeat is a result of a chunk written before the kill and not yet committed: never more than a few chunks.
    expect(outcome.repeated).toBeLessThan(count / 2);
    steps.done();
    console.log(`process-events at-least-once test: ${count} messages, killed at ${progressSoFar(victim)}; outputs ${JSON.stringify(outcome)}`);
  }, 400_000);

  test("two members; one paused past its session timeout is fenced when it wakes, results stay exactly once", async () => {
    const steps = new Steps("process-events two members");
    const topics = topicsFor("pe-zombie");
    const group = uniqueName("pe-zombie-group");
    const [before, after] = [6_000, 4_000];
    const count = before + after;
    const input = loginMix(count, 7);
    await steps.run("create the input topic", 60_000, createTopic(topics.input, 4));

    // No --until-caught-up: a member whose own partitions are done would leave before the takeover.
    const args = [...toolArgs(topics, group), "--batch-size", "100", "--log-interval", "100"];
    const a = startTool(TOOL, args);
    const b = startTool(TOOL, args);
    started.push(a, b);
    const tails = () => `A: ${stderrTail(a)}\nB: ${stderrTail(b)}`;
    // Input only once both members own two partitions each, so that neither does all the work alone.
    const owningTwo = (tool: ToolProcess) => /joined group[^\n]*\.in\[\d,\d\]"/.test(tool.stderrSoFar().split("\n").filter((l) => l.includes("joined group")).at(-1) ?? "");
    await steps.until("both members to join with two partitions each", 90_000, () => owningTwo(a) && owningTwo(b), tails);
    await steps.run("produce the first part", 60_000, produce(topics.input, input.slice(0, before)));
    await steps.until("both members to commit", 90_000, () => progressSoFar(a) > 0 && progressSoFar(b) > 0, tails);
    a.proc.kill("SIGSTOP");
    // B owns all four partitions once the broker gave up on A; the rest of the input is B's to process meanwhile.
    await steps.until("B to take over A's partitions", 90_000, () => /joined group[^\n]*\[0,1,2,3\]/.test(b.stderrSoFar()), tails);
    await steps.run("produce the rest", 60_000, produce(topics.input, input.slice(before)));
    await Bun.sleep(1_000);
    a.proc.kill("SIGCONT");
    await steps.until("the group to process every message", 180_000, () => groupLag(group, topics.input).then((lag) => lag === 0), tails);
    a.proc.kill("SIGTERM");
    b.proc.kill("SIGTERM");
    const [codeA, codeB] = await steps.run("both members to stop", 60_000, Promise.all([a.exited, b.exited]), tails);
    expect(codeB).toBe(0);
    expect(codeA).toBe(0);
    // A window whose flush a stopping member could not commit (its partition moved) stays in the
    // committed offset's metadata; the next run flushes it.
    const rest = await steps.run("a last --until-caught-up run", 120_000, runToolToEnd(TOOL, [...args, "--until-caught-up"]));
    expect(rest.code, rest.stderr).toBe(0);

    const outcome = await steps.run("read and check the outputs", 120_000, expectExactlyOnce(topics, count));
    steps.done();
    const fenced = /"msg":"partition taken over/.test(await a.stderr);
    console.log(`process-events zombie test: A exited ${codeA}, fenced on waking: ${fenced}; outputs ${JSON.stringify(outcome)}`);
  }, 600_000);
});

describe("process-events with Avro (seed 001)", () => {
  const registry = createRegistryClient(schemaRegistrySection(loadConfigSource(STACK_CONFIG), "schema_registry"));
  const processedType = avroType(readFileSync("schemas/user_login_processed.avsc", "utf8"));

  /** Produces Avro user-login events (registered under <topic>-value) with a share of bad payloads, counted by kind. */
  async function produceAvro(topic: string, count: number): Promise<Record<string, number>> {
    await createTopic(topic, 2);
    const produced = await runToolToEnd("tools/produce-test-data.ts", [
      "--topic", topic, "--format", "avro", "--count", String(count), "--seed", "3", "--bad-ratio", "0.1", "--json",
    ]);
    expect(produced.code, produced.stderr).toBe(0);
    return JSON.parse(produced.stdout.trim().split("\n").pop()!).malformed;
  }

  /** The inputs' results: processed events decoded with the output schema, checked against the decoded inputs. */
  async function check(topics: Topics, count: number, bad: number, schemaId: (id: number) => boolean) {
    const inputType = avroType(readFileSync("schemas/user_login.avsc", "utf8"));
    const input = await readCommitted(topics.input);
    const byOffset = new Map(input.map((m) => [`${m.partition}@${m.offset}`, m]));
    const processed = await readCommitted(topics.processed);
    const errors = await readCommitted(topics.errors);
    for (const message of processed) {
      const frame = readFrame(message.value!);
      expect(schemaId(frame.schemaId)).toBe(true);
      const event = processedType.fromBuffer(message.value!.subarray(frame.bodyOffset)) as Record<string, string>;
      const source = byOffset.get(`${headerText(message.headers, "x-source-partition")}@${headerText(message.headers, "x-source-offset")}`)!;
      const original = inputType.fromBuffer(source.value!.subarray(5)) as Record<string, unknown>;
      expect(event.ip).toBe(sha256Hex(String(original.ip)));
      expect(event.device_id).toBe(sha256Hex(String(original.device_id)));
      expect(event.timestamp).toBe(epochToIso(Number(original.timestamp)));
    }
    const reasons = errors.map((m) => headerText(m.headers, "x-dlq-reason") ?? "");
    expect(reasons.filter((r) => r.startsWith("invalid Avro")).length).toBe(bad);
    const summaries = (await readCommitted(topics.summary)).map((m) => JSON.parse(String(m.value)));
    expect(summaries.reduce((sum, s) => sum + s.messages, 0)).toBe(count);
    expect(summaries.reduce((sum, s) => sum + s.processed, 0)).toBe(processed.length);
    return { processed: processed.length, errors: errors.length };
  }

  test("--value-format avro with the registry, --output-format avro registered under <out>-value", async () => {
    const steps = new Steps("process-events avro registry");
    const topics = topicsFor("pe-avro");
    const count = 600;
    const malformed = await steps.run("produce Avro", 120_000, produceAvro(topics.input, count));
    const bad = Object.values(malformed).reduce((a, b) => a + b, 0);
    expect(bad).toBeGreaterThan(0);
    const run = await steps.run("process", 120_000, runToolToEnd(TOOL, [
      ...toolArgs(topics, uniqueName("pe-avro-group")), "--value-format", "avro", "--output-format", "avro", "--until-caught-up", "--json",
    ]));
    expect(run.code, run.stderr).toBe(0);
    const registered = await registry.latest(`${topics.processed}-value`);
    expect(JSON.parse(registered.schema).name).toBe("UserLoginProcessed");
    const outcome = await steps.run("check the outputs", 120_000, check(topics, count, bad, (id) => id === registered.id));
    expect(outcome.processed).toBeGreaterThan(0);
    steps.done();
  }, 400_000);

  test("offline: --avro-schema decodes without a registry, --output-schema-id frames without one", async () => {
    const steps = new Steps("process-events avro offline");
    const topics = topicsFor("pe-avro-off");
    const count = 300;
    const malformed = await steps.run("produce Avro", 120_000, produceAvro(topics.input, count));
    // One offline schema stands for every schema id: a payload framed with an unknown id decodes with it.
    const bad = Object.entries(malformed).reduce((sum, [kind, n]) => sum + (kind === "unknown-schema-id" ? 0 : n), 0);
    // A registry that is not there: nothing may ask it.
    const run = await steps.run("process", 120_000, runToolToEnd(TOOL, [
      ...toolArgs(topics, uniqueName("pe-avro-off-group")), "--value-format", "avro", "--avro-schema", "schemas/user_login.avsc",
      "--output-format", "avro", "--output-schema-id", "4242", "--until-caught-up",
    ], { KT_SCHEMA_REGISTRY_URL: "http://127.0.0.1:1/apis/ccompat/v7" }));
    expect(run.code, run.stderr).toBe(0);
    await steps.run("check the outputs", 120_000, check(topics, count, bad, (id) => id === 4242));
    steps.done();
  }, 400_000);
});
