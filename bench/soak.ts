/**
 * Soak of kafka2mongo: a steady stream of login events for a long while (30
 * minutes by default), sampling the tool's resident memory and event-loop
 * lag, to show whether they stay flat (issue 14, item 5). Not a test: it
 * reports figures and a verdict, and leaves the judging to a reader.
 *
 * produce-test-data writes --rate messages per second to a fresh 3-partition
 * topic on local_kafka for the whole run; kafka2mongo (--metrics on a free
 * port) lands them in FerretDB. Every --interval seconds the script reads the
 * tool's RSS from /proc/<pid>/status (Linux) and scrapes its /metrics for the
 * event-loop lag since the previous scrape (mean, p99, max), the heap and the
 * consumer lag. The samples go to <out>/soak.csv, a plot of RSS over time to
 * <out>/soak-rss.svg (drawn here, no plotting library), and the figures to
 * stdout: RSS at the start of the steady state and at the end, its slope over
 * the second half (MB per hour), and the event-loop lag's median and worst.
 *
 * Usage: bun bench/soak.ts [--minutes 30] [--rate 300] [--interval 5] [--warmup 60] [--out DIR]
 *   e.g. a check of the script itself: bun bench/soak.ts --minutes 1 --interval 2 --warmup 10
 * Needs the local stack (bun stack/stack.ts up). Drops its topic and collection at the end.
 */
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { mongoSection } from "../lib/config/mongo-section.ts";
import { loadConfigSource } from "../lib/config/source.ts";

const ROOT = resolve(import.meta.dir, "..");
const CONFIG = resolve(ROOT, "config/local-stack.ini");
const DB = "bench_soak";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    rate: { type: "string", default: "300" },
    interval: { type: "string", default: "5" },
    warmup: { type: "string", default: "60" },
    out: { type: "string" },
  },
});
const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const INTERVAL_S = Number(values.interval);
const WARMUP_S = Number(values.warmup);
for (const [flag, value] of Object.entries({ minutes: MINUTES, rate: RATE, interval: INTERVAL_S, warmup: WARMUP_S })) {
  if (!Number.isFinite(value) || value < 0 || (flag !== "warmup" && value === 0)) {
    console.error(`soak: --${flag} must be a positive number`);
    process.exit(2);
  }
}
const started = new Date();
const OUT = resolve(values.out ?? resolve(ROOT, "bench/results", `soak-${started.toISOString().replace(/[:.]/g, "-")}`));

const config = loadConfigSource(CONFIG);
const brokers = kafkaSection(config, "local_kafka").brokers;
const mongoUri = mongoSection(config, "mongodb").uri;

interface Sample {
  seconds: number;
  rssMb: number;
  heapUsedMb: number;
  loopLagMeanMs: number;
  loopLagP99Ms: number;
  loopLagMaxMs: number;
  committed: number;
  consumerLag: number;
}

const tool = (file: string, args: string[]) =>
  Bun.spawn([process.execPath, resolve(ROOT, `tools/${file}.ts`), "--config", CONFIG, "--log-dir", "none", "--log-format", "json", ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });

/** Collects a child's stderr, so it can be searched (the metrics URL) and shown on failure. */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const bytes of stream) text = (text + decoder.decode(bytes, { stream: true })).slice(-200_000);
  })();
  return { text: () => text, done };
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

/** Values of the toolkit's metrics by name, labels summed over. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(kafka_toolkit_\w+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (match) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return values;
}

const topic = `soak-${Date.now().toString(36)}`;
const kafka = new Kafka({ clientId: "bench-soak", brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });

const seconds = MINUTES * 60;
const producer = tool("produce-test-data", ["--topic", topic, "--rate", String(RATE), "--duration", String(seconds)]);
const landing = tool("kafka2mongo", ["--topic", topic, "--group", `${topic}-group`, "--db", DB, "--collection", topic, "--metrics", "127.0.0.1:0"]);
const producerLog = collect(producer.stderr as ReadableStream<Uint8Array>);
const landingLog = collect(landing.stderr as ReadableStream<Uint8Array>);
const samples: Sample[] = [];

try {
  let metricsUrl: string | undefined;
  for (const deadline = Date.now() + 60_000; !metricsUrl; await Bun.sleep(200)) {
    const line = landingLog.text().split("\n").find((l) => l.includes('"msg":"metrics endpoint"'));
    if (line) metricsUrl = JSON.parse(line).url as string;
    else if (Date.now() > deadline || landing.exitCode !== null) throw new Error(`kafka2mongo did not serve metrics:\n${landingLog.text().slice(-2000)}`);
  }
  console.log(`soak: ${MINUTES} min at ${RATE} msg/s into ${DB}.${topic}; samples every ${INTERVAL_S} s to ${OUT}/soak.csv`);
  await scrape(metricsUrl); // starts the event-loop window of the first sample
  const t0 = performance.now();
  for (let next = INTERVAL_S; next <= seconds; next += INTERVAL_S) {
    await Bun.sleep(Math.max(0, t0 + next * 1000 - performance.now()));
    if (landing.exitCode !== null) throw new Error(`kafka2mongo exited ${landing.exitCode} during the soak:\n${landingLog.text().slice(-2000)}`);
    const metrics = await scrape(metricsUrl);
    const ms = (name: string) => (metrics.get(`kafka_toolkit_${name}`) ?? 0) * 1000;
    samples.push({
      seconds: Math.round((performance.now() - t0) / 1000),
      rssMb: rssMb(landing.pid),
      heapUsedMb: (metrics.get("kafka_toolkit_nodejs_heap_size_used_bytes") ?? 0) / 2 ** 20,
      loopLagMeanMs: ms("nodejs_eventloop_lag_seconds"),
      loopLagP99Ms: ms("nodejs_eventloop_lag_p99_seconds"),
      loopLagMaxMs: ms("nodejs_eventloop_lag_max_seconds"),
      committed: metrics.get("kafka_toolkit_messages_consumed_total") ?? 0,
      consumerLag: metrics.get("kafka_toolkit_consumer_lag") ?? 0,
    });
    const s = samples[samples.length - 1]!;
    if (samples.length % Math.max(1, Math.round(60 / INTERVAL_S)) === 0) {
      console.log(`${String(s.seconds).padStart(5)} s  RSS ${s.rssMb.toFixed(0)} MB  loop lag p99 ${s.loopLagP99Ms.toFixed(1)} ms  committed ${s.committed}  lag ${s.consumerLag}`);
    }
  }
} finally {
  landing.kill("SIGTERM");
  producer.kill("SIGTERM");
  await Promise.all([landing.exited, producer.exited]);
  await Promise.all([landingLog.done, producerLog.done]);
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
  const mongo = new MongoClient(mongoUri);
  await mongo.connect().then(() => mongo.db(DB).dropDatabase()).catch(() => undefined);
  await mongo.close();
}

mkdirSync(OUT, { recursive: true });
const header = "seconds,rss_mb,heap_used_mb,loop_lag_mean_ms,loop_lag_p99_ms,loop_lag_max_ms,committed,consumer_lag";
const rows = samples.map((s) =>
  [s.seconds, s.rssMb.toFixed(1), s.heapUsedMb.toFixed(1), s.loopLagMeanMs.toFixed(2), s.loopLagP99Ms.toFixed(2), s.loopLagMaxMs.toFixed(2), s.committed, s.consumerLag].join(","),
);
writeFileSync(resolve(OUT, "soak.csv"), `${[header, ...rows].join("\n")}\n`);
writeFileSync(resolve(OUT, "soak-rss.svg"), rssPlot(samples));

const steady = samples.filter((s) => s.seconds >= WARMUP_S);
if (steady.length < 2) throw new Error(`too few samples after the ${WARMUP_S} s warm-up to judge; run longer`);
const secondHalf = steady.slice(Math.floor(steady.length / 2));
const slope = slopePerHour(secondHalf.map((s) => [s.seconds, s.rssMb]));
const p99s = steady.map((s) => s.loopLagP99Ms).sort((a, b) => a - b);
const last = samples[samples.length - 1]!;
console.log(
  [
    `soak of kafka2mongo: ${MINUTES} min at ${RATE} msg/s (${samples.length} samples, every ${INTERVAL_S} s; the first ${WARMUP_S} s are warm-up)`,
    `  RSS after warm-up ${steady[0]!.rssMb.toFixed(0)} MB, at the end ${last.rssMb.toFixed(0)} MB, max ${Math.max(...steady.map((s) => s.rssMb)).toFixed(0)} MB; slope over the second half ${slope.toFixed(1)} MB/hour`,
    `  heap used at the end ${last.heapUsedMb.toFixed(0)} MB`,
    `  event-loop lag p99 per ${INTERVAL_S} s: median ${p99s[Math.floor(p99s.length / 2)]!.toFixed(1)} ms, worst ${p99s[p99s.length - 1]!.toFixed(1)} ms; worst single delay ${Math.max(...steady.map((s) => s.loopLagMaxMs)).toFixed(0)} ms`,
    `  committed ${last.committed} messages (${(last.committed / (last.seconds || 1)).toFixed(0)}/s), consumer lag at the end ${last.consumerLag}`,
    `  samples: ${resolve(OUT, "soak.csv")}`,
    `  plot:    ${resolve(OUT, "soak-rss.svg")}`,
  ].join("\n"),
);

/** Least-squares slope of y over x, per hour of x seconds. */
function slopePerHour(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : (sxy / sxx) * 3600;
}

/** RSS over time as a small SVG line chart, axes from zero so a flat line looks flat. */
function rssPlot(points: Sample[]): string {
  const [width, height, left, bottom, top, right] = [640, 320, 56, 40, 28, 16];
  const maxX = Math.max(60, ...points.map((p) => p.seconds));
  const maxY = Math.ceil(Math.max(64, ...points.map((p) => p.rssMb)) / 64) * 64;
  const x = (s: number) => left + (s / maxX) * (width - left - right);
  const y = (mb: number) => height - bottom - (mb / maxY) * (height - bottom - top);
  const line = points.map((p, i) => `${i ? "L" : "M"}${x(p.seconds).toFixed(1)},${y(p.rssMb).toFixed(1)}`).join(" ");
  const yTicks = Array.from({ length: 5 }, (_, i) => (maxY / 4) * i);
  const minutes = maxX / 60;
  const stepMin = minutes <= 5 ? 1 : minutes <= 15 ? 2 : 5;
  const xTicks = Array.from({ length: Math.floor(minutes / stepMin) + 1 }, (_, i) => i * stepMin * 60);
  const text = (tx: number, ty: number, body: string, anchor = "middle") =>
    `<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" text-anchor="${anchor}" font-family="sans-serif" font-size="11">${body}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    text(width / 2, 16, `kafka2mongo RSS over ${MINUTES} min at ${RATE} msg/s (started ${started.toISOString().slice(0, 16)}Z)`),
    ...yTicks.map((v) => `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>` + text(left - 6, y(v) + 4, `${v}`, "end")),
    ...xTicks.map((s) => text(x(s), height - bottom + 16, `${s / 60}`)),
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="black"/>`,
    `<line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="black"/>`,
    text(width / 2, height - 6, "minutes"),
    `<text x="14" y="${height / 2}" transform="rotate(-90 14 ${height / 2})" text-anchor="middle" font-family="sans-serif" font-size="11">RSS, MB</text>`,
    `<path d="${line}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`,
    "</svg>",
    "",
  ].join("\n");
}
