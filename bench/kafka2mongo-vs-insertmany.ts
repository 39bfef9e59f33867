/**
 * kafka2mongo against the sink's own limit, in one run on the local stack.
 *
 * 1. Produces N JSON messages of about 1 KB to a fresh 3-partition topic.
 * 2. Sink limit: builds exactly the documents kafka2mongo would build and
 *    writes them, same batch size, as many batches in flight as kafka2mongo
 *    keeps (2), into a fresh collection of the same server, no Kafka
 *    involved: once with insertMany and once with plain insert commands (what
 *    the tool's sink sends). The faster of the two is the limit the ratio is
 *    taken against.
 * 3. kafka2mongo --until-caught-up from that topic into another fresh collection.
 * FerretDB on SQLite slows down as its files grow, so whatever runs later is
 * at a disadvantage: the three runs go in alternating order over --rounds
 * rounds and each rate is the mean over the rounds.
 * Prints the rates and the ratio (target: 0.9x or better), the CPU (user +
 * sys) per message of the tool process and of the insertMany writer (this
 * process, documents built beforehand), and the load average: the machine
 * is shared.
 *
 * Usage: bun bench/kafka2mongo-vs-insertmany.ts [--messages 200000] [--batch-size 500] [--rounds 2]
 * Needs the local stack (npm run stack:up).
 */
import { Kafka, logLevel } from "kafkajs";
import type { Document, MongoClient } from "mongodb";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loginEvent, loginRecord, produceLoginEvents } from "./lib/login-events.ts";
import { kafkaDocumentProcessor } from "../lib/processors/kafka-document.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { mongoSection } from "../lib/config/mongo-section.ts";
import { loadConfigSource } from "../lib/config/source.ts";
import { createMongoClient } from "../lib/mongo/client.ts";

const ROOT = resolve(import.meta.dir, "..");
const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "200000" },
    "batch-size": { type: "string", default: "500" },
    rounds: { type: "string", default: "2" },
  },
});
const MESSAGES = Number(values.messages);
const BATCH = Number(values["batch-size"]);
const ROUNDS = Number(values.rounds);
const PARTITIONS = 3;
const DB = "toolkit_bench";
const run = Date.now().toString(36);
const topic = `bench-k2m-${run}`;

/** The documents kafka2mongo makes from the same messages, same sizes and _id scheme. */
function sameDocuments(): Document[] {
  const toDocument = kafkaDocumentProcessor({ idStrategy: "offset", valueFormat: "json" });
  const documents: Document[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const record = loginRecord(`${topic}-baseline`, i, PARTITIONS);
    const outcome = toDocument(record);
    if (outcome.kind === "write") documents.push(outcome.item);
  }
  return documents;
}

type Write = "insertMany" | "command";
const IN_FLIGHT = 2;

/** Seconds and CPU seconds to write all documents in batches, IN_FLIGHT batches at a time. */
async function sinkLimit(mongo: MongoClient, documents: Document[], write: Write, round: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const collection = mongo.db(DB).collection(`baseline_${write}_${round}_${run}`);
  let next = 0;
  const writer = async () => {
    for (let i = next; i < documents.length; i = next) {
      next += BATCH;
      const batch = documents.slice(i, i + BATCH);
      if (write === "insertMany") await collection.insertMany(batch, { ordered: false });
      else await mongo.db(DB).command({ insert: collection.collectionName, documents: batch, ordered: false });
    }
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

interface ToolRun {
  wallSeconds: number;
  /** user + system CPU of the tool process, in seconds. */
  cpuSeconds: number;
  summary: Record<string, number>;
}

async function kafka2mongo(round: number): Promise<ToolRun> {
  const started = performance.now();
  const proc = Bun.spawn(
    [
      process.execPath,
      "tools/kafka2mongo.ts",
      "--config",
      "config/local-stack.ini",
      "--topic",
      topic,
      "--group",
      `${topic}-group-${round}`,
      "--db",
      DB,
      "--collection",
      `pipeline_${round}_${run}`,
      "--batch-size",
      String(BATCH),
      "--log-interval",
      "50000",
      "--until-caught-up",
      "--json",
      "--log-dir",
      "none",
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "inherit" },
  );
  const stdout = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error("kafka2mongo failed");
  const cpu = proc.resourceUsage()!.cpuTime;
  return {
    wallSeconds: (performance.now() - started) / 1000,
    cpuSeconds: Number(cpu.user + cpu.system) / 1e6,
    summary: JSON.parse(stdout.trim().split("\n").pop()!),
  };
}

// The stack's config with its KT_* overrides, as the tool under test reads it.
const stackConfig = loadConfigSource(resolve(ROOT, "config/local-stack.ini"));
const kafka = new Kafka({ clientId: "bench", brokers: kafkaSection(stackConfig, "local_kafka").brokers, logLevel: logLevel.NOTHING });
const mongo = createMongoClient(mongoSection(stackConfig, "mongodb"));
await mongo.connect();

console.log(`producing ${MESSAGES} messages of ~${loginEvent(0).length} bytes to ${topic} ...`);
await produceLoginEvents(kafka, topic, MESSAGES, PARTITIONS);
const documents = sameDocuments();

type Method = Write | "kafka2mongo";
const seconds: Record<Method, number[]> = { insertMany: [], command: [], kafka2mongo: [] };
const wallSeconds: number[] = [];
const cpuSeconds: number[] = [];
const insertManyCpuSeconds: number[] = [];
const methods: Method[] = ["insertMany", "command", "kafka2mongo"];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? methods : [...methods].reverse();
  for (const method of order) {
    console.log(`round ${round + 1}/${ROUNDS}: ${method} ...`);
    if (method !== "kafka2mongo") {
      const limit = await sinkLimit(mongo, documents, method, round);
      seconds[method].push(limit.seconds);
      if (method === "insertMany") insertManyCpuSeconds.push(limit.cpuSeconds);
    } else {
      const pipeline = await kafka2mongo(round);
      const landed = await mongo.db(DB).collection(`pipeline_${round}_${run}`).estimatedDocumentCount();
      if (landed !== MESSAGES) throw new Error(`kafka2mongo landed ${landed} of ${MESSAGES} documents`);
      seconds.kafka2mongo.push(MESSAGES / pipeline.summary.messages_per_sec!);
      wallSeconds.push(pipeline.wallSeconds);
      cpuSeconds.push(pipeline.cpuSeconds);
    }
  }
}
const meanRate = (list: number[]) => list.reduce((sum, s) => sum + MESSAGES / s, 0) / list.length;
const insertManyRate = meanRate(seconds.insertMany);
const commandRate = meanRate(seconds.command);
const baselineRate = Math.max(insertManyRate, commandRate);
const pipelineRate = Math.round(meanRate(seconds.kafka2mongo));
const wallRate = meanRate(wallSeconds);

const result = {
  messages: MESSAGES,
  rounds: ROUNDS,
  batch_size: BATCH,
  value_bytes: loginEvent(0).length,
  in_flight: IN_FLIGHT,
  insert_many_msgs_per_sec: Math.round(insertManyRate),
  insert_command_msgs_per_sec: Math.round(commandRate),
  sink_limit_msgs_per_sec: Math.round(baselineRate),
  kafka2mongo_msgs_per_sec: pipelineRate,
  kafka2mongo_wall_msgs_per_sec_incl_startup: Math.round(wallRate),
  ratio: Number((pipelineRate / baselineRate).toFixed(3)),
  ratio_to_insert_many: Number((pipelineRate / insertManyRate).toFixed(3)),
  ratio_incl_startup: Number((wallRate / baselineRate).toFixed(3)),
  kafka2mongo_cpu_us_per_msg: Number(((Math.min(...cpuSeconds) * 1e6) / MESSAGES).toFixed(1)),
  insert_many_cpu_us_per_msg: Number(((Math.min(...insertManyCpuSeconds) * 1e6) / MESSAGES).toFixed(1)),
  load_average: loadavg().map((l) => Number(l.toFixed(2))),
};
console.log(`
mean over ${ROUNDS} rounds of ${MESSAGES} messages
insertMany, ${IN_FLIGHT} in flight (as the tool)  ${result.insert_many_msgs_per_sec} msg/s
insert command, ${IN_FLIGHT} in flight            ${result.insert_command_msgs_per_sec} msg/s
kafka2mongo (run, from its summary)     ${pipelineRate} msg/s
kafka2mongo (wall clock, with start)    ${result.kafka2mongo_wall_msgs_per_sec_incl_startup} msg/s
ratio to the faster sink limit          ${result.ratio}x  (${result.ratio_incl_startup}x with start-up)  target >= 0.9x
ratio to insertMany                     ${result.ratio_to_insert_many}x
kafka2mongo CPU (user+sys, best run)    ${result.kafka2mongo_cpu_us_per_msg} µs/msg, start-up and Kafka included
insertMany writer CPU (best run)        ${result.insert_many_cpu_us_per_msg} µs/msg, documents built beforehand
load average at the end                 ${result.load_average.join(" ")} (the machine is shared)`);

mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
writeFileSync(resolve(ROOT, `bench/results/kafka2mongo-${run}.json`), JSON.stringify(result, null, 2));
await mongo.db(DB).dropDatabase();
await mongo.close();
const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
await admin.disconnect();
