/**
 * Peak memory (RSS high-water mark) of kafka2mongo and kafka2kafka over a
 * whole topic, for each topic size given, against the 256 MB target and, as
 * the reference in the same run, bun itself doing nothing.
 *
 * For each size: Kafka's own ProducerPerformance (from .stack/kafka/libs)
 * writes N records of S bytes to a fresh 3-partition topic on local_kafka;
 * kafka2mongo lands it (--value-format text: the payload is letters, not
 * JSON) and kafka2kafka copies it to remote_kafka, each --until-caught-up.
 * VmHWM of the tool's process is read from /proc every 100 ms (Linux only).
 *
 * Usage: bun bench/peak-rss.ts [--messages 200000,1000000] [--size 1024] [--only kafka2mongo|kafka2kafka]
 * Needs the local stack (bun stack/stack.ts up). Drops its collections and
 * topics at the end.
 */
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { mongoSection } from "../lib/config/mongo-section.ts";
import { loadConfigSource } from "../lib/config/source.ts";
import { KAFKA_LIBS } from "../stack/config.ts";

const ROOT = resolve(import.meta.dir, "..");
const CONFIG = resolve(ROOT, "config/local-stack.ini");
const TARGET_MB = 256;
const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "200000,1000000" },
    size: { type: "string", default: "1024" },
    only: { type: "string" },
  },
});
const SIZES = values.messages!.split(",").map(Number);
const RECORD_BYTES = Number(values.size);
const config = loadConfigSource(CONFIG);
const LOCAL = kafkaSection(config, "local_kafka").brokers;
const mongoUri = mongoSection(config, "mongodb").uri;
const DB = "bench_rss";

interface Measured {
  peakMb: number;
  seconds: number;
}

/** Runs argv to its end, sampling the process's RSS high-water mark. */
async function peakRss(argv: string[]): Promise<Measured> {
  const started = performance.now();
  const proc = Bun.spawn(argv, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  let peakKb = 0;
  const sampler = setInterval(() => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))?.[1];
      if (hwm) peakKb = Math.max(peakKb, Number(hwm));
    } catch {
      // exited between two samples
    }
  }, 100);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${argv.slice(1).join(" ")} exited ${code}:\n${out.slice(-2000)}\n${err.slice(-2000)}`);
  return { peakMb: peakKb / 1024, seconds: (performance.now() - started) / 1000 };
}

async function produce(topic: string, count: number): Promise<void> {
  const admin = new Kafka({ clientId: "bench-rss", brokers: LOCAL, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  const argv = ["java", "-cp", `${KAFKA_LIBS}/*`, "org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
    "--num-records", String(count), "--record-size", String(RECORD_BYTES), "--throughput", "-1",
    "--producer-props", `bootstrap.servers=${LOCAL.join(",")}`, "acks=1", "linger.ms=20", "batch.size=262144"];
  const proc = Bun.spawn(argv, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`ProducerPerformance failed:\n${out}\n${err}`);
}

const tool = (file: string, args: string[]) => [process.execPath, `tools/${file}.ts`, "--config", CONFIG, "--log-dir", "none", "--log-format", "json", ...args];

const rows: string[] = [];
const report = (what: string, messages: number | string, m: Measured) => {
  const verdict = typeof messages === "number" ? (m.peakMb < TARGET_MB ? "under target" : "OVER TARGET") : "reference";
  rows.push(`${what.padEnd(28)} ${String(messages).padStart(8)}  peak RSS ${m.peakMb.toFixed(0).padStart(4)} MB  ${m.seconds.toFixed(0).padStart(5)} s  ${verdict}`);
  console.log(rows[rows.length - 1]);
};

const topics: string[] = [];
try {
  report("reference: bun idle", "-", await peakRss([process.execPath, "-e", "await Bun.sleep(500)"]));
  for (const count of SIZES) {
    const topic = `bench-rss-${Date.now().toString(36)}-${count}`;
    topics.push(topic, `${topic}.dlq`, `rss.${topic}`);
    await produce(topic, count);
    if (values.only !== "kafka2kafka") {
      const args = ["--topic", topic, "--group", `${topic}-k2m`, "--db", DB, "--collection", topic, "--value-format", "text", "--until-caught-up"];
      report("kafka2mongo", count, await peakRss(tool("kafka2mongo", args)));
    }
    if (values.only !== "kafka2mongo") {
      const args = ["--from", "local_kafka", "--to", "remote_kafka", "--topic", topic, "--dest-topic", `rss.${topic}`, "--group", `${topic}-k2k`, "--until-caught-up"];
      report("kafka2kafka", count, await peakRss(tool("kafka2kafka", args)));
    }
  }
} finally {
  const mongo = new MongoClient(mongoUri);
  await mongo.connect().then(() => mongo.db(DB).dropDatabase()).catch(() => undefined);
  await mongo.close();
  for (const brokers of [LOCAL, kafkaSection(config, "remote_kafka").brokers]) {
    const admin = new Kafka({ clientId: "bench-rss", brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const existing = await admin.listTopics();
    await admin.deleteTopics({ topics: topics.filter((t) => existing.includes(t)) }).catch(() => undefined);
    await admin.disconnect();
  }
}
console.log(`\npeak RSS, ${RECORD_BYTES}-byte records, target under ${TARGET_MB} MB:\n${rows.join("\n")}`);
