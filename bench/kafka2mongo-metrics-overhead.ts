/**
 * What --metrics costs kafka2mongo, measured in one run on the local stack.
 *
 * 1. Produces N login events (produce-test-data, fixed seed) to a fresh
 *    3-partition topic.
 * 2. Runs kafka2mongo --until-caught-up over the whole topic twice per round,
 *    with a fresh group and collection each time: once without metrics and
 *    once with --metrics while this script scrapes /metrics every
 *    --scrape-interval seconds, as Prometheus would. The order alternates
 *    between rounds (FerretDB on SQLite slows as its files grow).
 * Prints the mean rates (from each run's summary) and the overhead
 * 1 - on/off (target: at most 3%), and the tool's own CPU time per message,
 * which a machine shared with other load disturbs far less than the rate.
 *
 * Usage: bun bench/kafka2mongo-metrics-overhead.ts [--messages 100000] [--rounds 2] [--batch-size 500] [--scrape-interval 1]
 * Needs the local stack (npm run stack:up); follows the KT_* port overrides.
 */
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfigSource } from "../lib/config/source.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { mongoSection } from "../lib/config/mongo-section.ts";

const ROOT = resolve(import.meta.dir, "..");
const CONFIG = "config/local-stack.ini";
const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "100000" },
    rounds: { type: "string", default: "2" },
    "batch-size": { type: "string", default: "500" },
    "scrape-interval": { type: "string", default: "1" },
  },
});
const MESSAGES = Number(values.messages);
const ROUNDS = Number(values.rounds);
const BATCH = Number(values["batch-size"]);
const SCRAPE_MS = Number(values["scrape-interval"]) * 1000;
const DB = "toolkit_bench";
const run = Date.now().toString(36);
const topic = `bench-metrics-${run}`;

async function tool(args: string[], onStderr?: (text: string) => void): Promise<{ stdout: string; cpuSeconds: number }> {
  const proc = Bun.spawn([process.execPath, ...args, "--config", CONFIG, "--log-dir", "none", "--log-format", "json"], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const decoder = new TextDecoder();
  let stderr = "";
  const reading = (async () => {
    for await (const bytes of proc.stderr) {
      stderr += decoder.decode(bytes, { stream: true });
      onStderr?.(stderr);
    }
  })();
  const stdout = await new Response(proc.stdout).text();
  await reading;
  if ((await proc.exited) !== 0) throw new Error(`${args[0]} failed:\n${stderr.split("\n").slice(-5).join("\n")}`);
  const cpu = proc.resourceUsage()?.cpuTime;
  return { stdout, cpuSeconds: cpu ? Number(cpu.user + cpu.system) / 1e6 : NaN };
}

/** One kafka2mongo run; with metrics, scraped every SCRAPE_MS until it exits. */
async function kafka2mongo(round: number, metrics: boolean): Promise<{ rate: number; cpuMicrosPerMessage: number; scrapes: number }> {
  const name = `${metrics ? "on" : "off"}_${round}_${run}`;
  let scrapes = 0;
  let scraper: ReturnType<typeof setInterval> | undefined;
  const onStderr = (text: string) => {
    if (!metrics || scraper) return;
    const line = text.split("\n").find((l) => l.includes('"msg":"metrics endpoint"'));
    if (!line) return;
    const url = JSON.parse(line).url as string;
    scraper = setInterval(() => {
      fetch(url).then((r) => r.text()).then(() => scrapes++, () => undefined);
    }, SCRAPE_MS);
  };
  const { stdout, cpuSeconds } = await tool(
    [
      "tools/kafka2mongo.ts", "--topic", topic, "--group", `${topic}-${name}`, "--db", DB, "--collection", name,
      "--batch-size", String(BATCH), "--log-interval", "50000", "--until-caught-up", "--json",
      ...(metrics ? ["--metrics", "127.0.0.1:0"] : []),
    ],
    onStderr,
  );
  clearInterval(scraper);
  const summary = JSON.parse(stdout.trim().split("\n").pop()!);
  if (summary.inserted !== MESSAGES) throw new Error(`kafka2mongo inserted ${summary.inserted} of ${MESSAGES}`);
  return { rate: summary.messages_per_sec, cpuMicrosPerMessage: (cpuSeconds * 1e6) / MESSAGES, scrapes };
}

console.log(`producing ${MESSAGES} login events to ${topic} ...`);
await tool(["tools/produce-test-data.ts", "--topic", topic, "--count", String(MESSAGES), "--seed", "12", "--partitions", "3"]);

const rates = { off: [] as number[], on: [] as number[] };
const cpu = { off: [] as number[], on: [] as number[] };
let scrapes = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const metrics of round % 2 === 0 ? [false, true] : [true, false]) {
    const result = await kafka2mongo(round, metrics);
    (metrics ? rates.on : rates.off).push(result.rate);
    (metrics ? cpu.on : cpu.off).push(result.cpuMicrosPerMessage);
    scrapes += result.scrapes;
    console.log(
      `round ${round + 1}/${ROUNDS}: metrics ${metrics ? "on " : "off"} ${result.rate} msg/s, ` +
        `${result.cpuMicrosPerMessage.toFixed(1)} µs CPU/msg${metrics ? ` (${result.scrapes} scrapes)` : ""}`,
    );
  }
}
const mean = (list: number[]) => list.reduce((a, b) => a + b, 0) / list.length;
const off = Math.round(mean(rates.off));
const on = Math.round(mean(rates.on));
const result = {
  messages: MESSAGES,
  rounds: ROUNDS,
  batch_size: BATCH,
  scrape_interval_s: SCRAPE_MS / 1000,
  scrapes,
  metrics_off_msgs_per_sec: off,
  metrics_on_msgs_per_sec: on,
  runs_off: rates.off,
  runs_on: rates.on,
  overhead_percent: Number(((1 - on / off) * 100).toFixed(2)),
  cpu_us_per_msg_off: Number(mean(cpu.off).toFixed(2)),
  cpu_us_per_msg_on: Number(mean(cpu.on).toFixed(2)),
  cpu_overhead_percent: Number(((mean(cpu.on) / mean(cpu.off) - 1) * 100).toFixed(2)),
  load_average_1m: Number(loadavg()[0]!.toFixed(2)),
};
console.log(`
mean over ${ROUNDS} rounds of ${MESSAGES} messages, batch ${BATCH}
kafka2mongo without metrics            ${off} msg/s
kafka2mongo --metrics, scraped every ${SCRAPE_MS / 1000}s ${on} msg/s
throughput overhead                    ${result.overhead_percent}%  target <= 3%
tool CPU per message                   ${result.cpu_us_per_msg_off} µs off, ${result.cpu_us_per_msg_on} µs on: ${result.cpu_overhead_percent}%
load average (1 min) at the end        ${result.load_average_1m} on ${cpus().length} cores`);

mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
writeFileSync(resolve(ROOT, `bench/results/kafka2mongo-metrics-${run}.json`), JSON.stringify(result, null, 2));
const config = loadConfigSource(resolve(ROOT, CONFIG));
const mongo = new MongoClient(mongoSection(config, "mongodb").uri, { serverSelectionTimeoutMS: 10_000 });
await mongo.connect();
await mongo.db(DB).dropDatabase();
await mongo.close();
const admin = new Kafka({ brokers: kafkaSection(config, "local_kafka").brokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
await admin.disconnect();
