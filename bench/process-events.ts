/**
 * process-events against a plain consume-and-produce of the same messages,
 * in one run, on the local stack's Kafka.
 *
 * 1. Produces N user-login-mix messages (default 50k, seeded) to a fresh topic
 *    with 3 partitions.
 * 2. Reference: a kafkajs consumer group that copies every message unchanged
 *    to another topic (idempotent producer, acks=all, 1000 messages per
 *    produce and offset commit), until caught up. No decoding, no checks.
 * 3. process-events --until-caught-up with the user-login pipeline, at
 *    least once, then exactly once (a Kafka transaction per 1000 messages).
 * Each runs as its own process; msg/s is N over the wall time from start to
 * exit (group join included for all three; use 100k or more, so start-up does not dominate), CPU per message is the process's
 * user+system CPU time over N. Goals: >= 0.9x at least once, >= 0.7x exactly once.
 *
 * Usage: bun bench/process-events.ts [--messages 50000] [--batch-size 1000]
 * Needs the local stack (bun stack/stack.ts up); honours the KT_* port overrides.
 */
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { loadConfigSource } from "../lib/config/source.ts";
import { createGenerator } from "../lib/generate/generator.ts";

const ROOT = resolve(import.meta.dir, "..");
const CONFIG = resolve(ROOT, "config/local-stack.ini");
const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "50000" },
    "batch-size": { type: "string", default: "1000" },
    relay: { type: "string" },
  },
});
const MESSAGES = Number(values.messages);
const BATCH = Number(values["batch-size"]);
const BROKERS = kafkaSection(loadConfigSource(CONFIG), "local_kafka").brokers;
const kafka = new Kafka({ clientId: "bench-process-events", brokers: BROKERS, logLevel: logLevel.NOTHING });

if (values.relay) {
  await relay(values.relay);
  process.exit(0);
}

/** The reference: consume, produce the same bytes, commit, in chunks of BATCH, until caught up. */
async function relay(input: string): Promise<void> {
  const group = `bench-relay-${Date.now().toString(36)}`;
  const output = `${input}.relay`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: output, numPartitions: 3 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  let copied = 0;
  await new Promise<void>((done) => {
    consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (let start = 0; start < batch.messages.length; start += BATCH) {
          const slice = batch.messages.slice(start, start + BATCH);
          await producer.send({ topic: output, acks: -1, messages: slice.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
          const last = slice[slice.length - 1]!.offset;
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
          resolveOffset(last);
          copied += slice.length;
          await heartbeat();
        }
        if (copied >= MESSAGES) done();
      },
    });
  });
  await consumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();
}

async function timed(name: string, command: string[]) {
  const started = performance.now();
  const proc = Bun.spawn(command, { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: process.env });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${name} exited ${code}: ${stderr.split("\n").filter(Boolean).slice(-3).join(" | ")}`);
  const usage = proc.resourceUsage();
  const cpuUs = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) : NaN;
  return { name, seconds, rate: Math.round(MESSAGES / seconds), cpuUsPerMessage: cpuUs / MESSAGES, stdout: stdout.trim() };
}

const topic = `bench-pe-${Date.now().toString(36)}`;
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const generator = createGenerator({ kind: "user-login-mix", seed: 11, key: "field" });
for (let sent = 0; sent < MESSAGES; sent += 5000) {
  const batch = generator.batch(Math.min(5000, MESSAGES - sent)).map(({ key, value }) => ({ key, value }));
  await producer.send({ topic, acks: -1, messages: batch });
}
await producer.disconnect();
console.log(`produced ${MESSAGES} user-login-mix messages to ${topic} (3 partitions); batch size ${BATCH}`);

const bun = resolve(ROOT, "node_modules/.bin/bun");
const tool = (delivery: string) => [
  bun, "tools/process-events.ts", "--config", CONFIG, "--log-dir", "none", "--log-level", "warn",
  "--in", topic, "--out", `${topic}.${delivery}.out`, "--errors-topic", `${topic}.${delivery}.errors`,
  "--summary-topic", `${topic}.${delivery}.summary`, "--group", `${topic}-${delivery}`,
  "--delivery", delivery, "--batch-size", String(BATCH), "--until-caught-up", "--json",
];
const reference = await timed("plain consume-and-produce", [bun, "bench/process-events.ts", "--relay", topic, "--messages", String(MESSAGES), "--batch-size", String(BATCH)]);
const atLeastOnce = await timed("process-events at-least-once", tool("at-least-once"));
const exactlyOnce = await timed("process-events exactly-once", tool("exactly-once"));

for (const r of [reference, atLeastOnce, exactlyOnce]) {
  const ratio = (r.rate / reference.rate).toFixed(2);
  console.log(`${r.name.padEnd(30)} ${String(r.rate).padStart(7)} msg/s  ${r.seconds.toFixed(1).padStart(6)} s  ${r.cpuUsPerMessage.toFixed(1).padStart(6)} µs CPU/msg  ${ratio}x`);
}
console.log(`goals: at-least-once >= 0.9x, exactly-once >= 0.7x; load average ${(await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ")}`);
await admin.deleteTopics({ topics: [topic, `${topic}.relay`] }).catch(() => {});
await admin.disconnect();
