/**
 * mongo2kafka against the raw limit of the same transfer, in one run on the
 * local stack (FerretDB and Kafka).
 *
 * 1. Inserts N login events of about 1 KB into a fresh collection, with
 *    ObjectId _ids from this one client.
 * 2. Raw limit, no checkpoint and no tool: one find of the whole collection
 *    sorted by _id on the client (as mongo2kafka reads FerretDB), each
 *    document turned into the same message (mongoMessage: relaxed Extended
 *    JSON keyed by _id) and sent to a fresh topic in batches of the same
 *    size through the same kind of producer (idempotent, acks=all, one
 *    request in flight).
 * 3. mongo2kafka --until-caught-up --delay 0 into another fresh topic, with
 *    a fresh checkpoint file (written and fsynced twice per batch).
 * Limit and tool alternate in order over --rounds rounds; each rate is the
 * mean over the rounds. Prints the rates and the ratio.
 *
 * --delay 0: every document is older than any delay by the time the tool
 * runs, so the delay only adds the wait for the caught-up moment's second
 * to age out; that wait is not transfer work.
 *
 * Usage: bun bench/mongo2kafka-vs-raw.ts [--documents 50000] [--batch-size 500] [--rounds 2]
 * Needs the local stack (npm run stack:up); honours the KT_* port overrides.
 */
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { MongoClient, ObjectId, type Document } from "mongodb";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loginEvent } from "./lib/login-events.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { mongoSection } from "../lib/config/mongo-section.ts";
import { loadConfigSource } from "../lib/config/source.ts";
import { mongoMessage } from "../lib/processors/mongo-message.ts";
import { compareValues } from "../lib/sources/mongo-poll.ts";

const ROOT = resolve(import.meta.dir, "..");
const CONFIG = resolve(ROOT, "config/local-stack.ini");
const { values } = parseArgs({
  options: {
    documents: { type: "string", default: "50000" },
    "batch-size": { type: "string", default: "500" },
    rounds: { type: "string", default: "2" },
  },
});
const DOCUMENTS = Number(values.documents);
const BATCH = Number(values["batch-size"]);
const ROUNDS = Number(values.rounds);
const run = Date.now().toString(36);
const DB = "bench";
const COLLECTION = `m2k_${run}`;
const stateDir = mkdtempSync(join(tmpdir(), "bench-m2k-"));

const config = loadConfigSource(CONFIG);
const kafkaConfig = kafkaSection(config, "local_kafka");
const mongoConfig = mongoSection(config, "mongodb");
const kafka = new Kafka({ clientId: "bench", brokers: kafkaConfig.brokers, logLevel: logLevel.NOTHING });
const topics: string[] = [];

async function freshTopic(name: string): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: name, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  topics.push(name);
  return name;
}

/** Seconds for read, serialize and send of every document, as the raw limit. */
async function rawLimit(client: MongoClient, topic: string): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const toMessage = mongoMessage({ canonical: false });
  const started = performance.now();
  const documents = await client.db(DB).collection(COLLECTION).find({}).toArray();
  documents.sort((a: Document, b: Document) => compareValues(a._id, b._id));
  for (let i = 0; i < documents.length; i += BATCH) {
    await producer.send({ topic, acks: -1, messages: documents.slice(i, i + BATCH).map(toMessage) });
  }
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  if (documents.length !== DOCUMENTS) throw new Error(`raw limit read ${documents.length} of ${DOCUMENTS} documents`);
  return seconds;
}

async function mongo2kafka(topic: string): Promise<{ rate: number; wallSeconds: number }> {
  const started = performance.now();
  const proc = Bun.spawn(
    [process.execPath, "tools/mongo2kafka.ts", "--config", CONFIG, "--db", DB, "--collection", COLLECTION, "--topic", topic,
      "--checkpoint", join(stateDir, `${topic}.json`), "--batch-size", String(BATCH), "--delay", "0", "--log-interval", "50000",
      "--until-caught-up", "--json", "--log-dir", "none"],
    { cwd: ROOT, stdout: "pipe", stderr: "inherit" },
  );
  const stdout = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error("mongo2kafka failed");
  const summary = JSON.parse(stdout.trim().split("\n").pop()!);
  if (summary.produced !== DOCUMENTS) throw new Error(`mongo2kafka produced ${summary.produced} of ${DOCUMENTS} messages`);
  return { rate: summary.messages_per_sec, wallSeconds: (performance.now() - started) / 1000 };
}

const client = new MongoClient(mongoConfig.uri);
await client.connect();
console.log(`inserting ${DOCUMENTS} documents of ~${loginEvent(0).length} bytes into ${DB}.${COLLECTION} ...`);
for (let i = 0; i < DOCUMENTS; i += 2000) {
  const batch = [];
  for (let j = i; j < Math.min(DOCUMENTS, i + 2000); j++) batch.push({ _id: new ObjectId(), ...JSON.parse(loginEvent(j)) });
  await client.db(DB).collection(COLLECTION).insertMany(batch);
}

const mean = (list: number[]) => list.reduce((a, b) => a + b, 0) / list.length;
const limitRates: number[] = [];
const toolRates: number[] = [];
const wallRates: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ["limit", "tool"] : ["tool", "limit"];
  for (const step of order) {
    const topic = await freshTopic(`bench-m2k-${run}-${step}-${round}`);
    console.log(`round ${round + 1}/${ROUNDS}: ${step === "limit" ? "raw limit" : "mongo2kafka"} ...`);
    if (step === "limit") limitRates.push(DOCUMENTS / (await rawLimit(client, topic)));
    else {
      const { rate, wallSeconds } = await mongo2kafka(topic);
      toolRates.push(rate);
      wallRates.push(DOCUMENTS / wallSeconds);
    }
  }
}
const result = {
  reference: "one find, client sort, same messages, idempotent acks=all producer, same batches",
  documents: DOCUMENTS,
  rounds: ROUNDS,
  batch_size: BATCH,
  value_bytes: loginEvent(0).length,
  raw_limit_msgs_per_sec: Math.round(mean(limitRates)),
  mongo2kafka_msgs_per_sec: Math.round(mean(toolRates)),
  mongo2kafka_wall_msgs_per_sec_incl_startup: Math.round(mean(wallRates)),
  ratio: Number((mean(toolRates) / mean(limitRates)).toFixed(3)),
  ratio_incl_startup: Number((mean(wallRates) / mean(limitRates)).toFixed(3)),
};
console.log(`
mean over ${ROUNDS} rounds of ${DOCUMENTS} documents
raw limit (${result.reference})  ${result.raw_limit_msgs_per_sec} msg/s
mongo2kafka (run, from its summary)  ${result.mongo2kafka_msgs_per_sec} msg/s
mongo2kafka (wall clock, with start) ${result.mongo2kafka_wall_msgs_per_sec_incl_startup} msg/s
ratio                                ${result.ratio}x  (${result.ratio_incl_startup}x with start-up)`);

mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
writeFileSync(resolve(ROOT, `bench/results/mongo2kafka-${run}.json`), JSON.stringify(result, null, 2));
await client.db(DB).collection(COLLECTION).drop().catch(() => {});
await client.close();
const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics }).catch(() => {});
await admin.disconnect();
rmSync(stateDir, { recursive: true, force: true });
