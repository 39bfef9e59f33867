/**
 * produce-test-data: fills a topic with generated messages (user-login
 * events, items, fixed-size raw values, optionally malformed ones) at full
 * speed or at a target rate. See --help.
 */
import { defineTool } from "../lib/cli/flags.ts";
import { runTool } from "../lib/cli/run.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { UsageError } from "../lib/errors.ts";
import {
  BAD_KINDS,
  createGenerator,
  GENERATOR_KINDS,
  KEY_MODES,
  RAW_MIN_SIZE,
  type BadKind,
} from "../lib/generate/generator.ts";
import { COMPRESSION_NAMES } from "../lib/kafka/compression-names.ts";
import { createProgress } from "../lib/log/progress.ts";
import { METRICS_OPTION } from "../lib/cli/pipeline-flags.ts";
import { startToolMetrics } from "../lib/metrics/tool-metrics.ts";
import { batchSizeForRate, rateFromInterval } from "../lib/produce/pacing.ts";
import { fastDefaultPartitioner } from "../lib/produce/partitioner.ts";
import { produceMessages, type Acks } from "../lib/produce/produce.ts";
import { registryFromFlags } from "../lib/avro/flags.ts";
import { avroEncoding } from "../lib/avro/encoding.ts";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** Seed 001's user-login schema, registered by --format avro. */
const USER_LOGIN_AVSC = resolve(import.meta.dir, "../schemas/user_login.avsc");

const spec = defineTool({
  name: "produce-test-data",
  summary: "Produce generated test messages to a topic, fast or at a given rate.",
  description: [
    "Generators: user-login (login events: user_id, app_version, ip, locale, device_id, timestamp,",
    "device_type), item (UUID key; value id, name item_<8 digits>, created_at, metadata; headers",
    "content-type and created_at), raw (JSON values padded to exactly --size bytes), and",
    "user-login-mix: login events that exercise every branch of process-events' user-login pipeline:",
    "55% valid, 5% timestamps in ms, 5% locale/device_type missing (processed); 15% other app versions,",
    "5% app_version missing (filtered); 5% a required field missing, 5% a wrong type, 3% bad JSON,",
    "2% invalid UTF-8 or empty (errors).",
    "--seed makes every byte reproducible; --bad-ratio mixes in malformed messages for dead-letter tests.",
    "Stops after --count messages, after --duration seconds, or on Ctrl-C, whichever comes first.",
    "Exits 0 only when every message was acknowledged (with --acks 0 nothing is acknowledged:",
    "a message counts as sent once written to the socket).",
    "--format avro (user-login only) registers schemas/user_login.avsc under --subject in the",
    "Schema Registry ([schema_registry]) and writes Confluent-framed Avro; with --schema-id N",
    "it skips the registry and frames with id N. --bad-ratio then mixes in not-avro,",
    "unknown-schema-id and truncated messages.",
  ],
  options: {
    topic: { type: "string", value: "T", description: "Topic to produce to", defaultText: "[section] default_producer_topic" },
    kafka: { type: "string", value: "SECTION", description: "Kafka section of the config", defaultText: "local_kafka" },
    generator: { type: "string", value: "KIND", description: GENERATOR_KINDS.join(", "), defaultText: "user-login" },
    count: { type: "string", value: "N", description: "Messages to produce; 0 for no limit", defaultText: "1000, or 0 with --duration" },
    duration: { type: "string", value: "SECONDS", description: "Stop after this long" },
    rate: { type: "string", value: "MSGS", description: "Target messages per second", defaultText: "as fast as possible" },
    "interval-ms": { type: "string", value: "MS", description: "Send one batch every MS (instead of --rate)" },
    "batch-size": {
      type: "string",
      value: "N",
      description: "Messages per send",
      defaultText: "1000; 100 with --interval-ms; ~rate/10 with --rate",
    },
    "max-in-flight": { type: "string", value: "N", description: "Batches awaiting acknowledgement at once", defaultText: "8" },
    key: { type: "string", value: "MODE", description: "uuid, field (user_id / id / seq) or none", defaultText: "field for item, else uuid" },
    seed: { type: "string", value: "N", description: "Seed for reproducible messages (timestamps included)" },
    size: { type: "string", value: "BYTES", description: `Value size for --generator raw (>= ${RAW_MIN_SIZE})`, defaultText: "1024" },
    "bad-ratio": {
      type: "string",
      value: "F",
      description: `Share 0..1 of malformed messages (${BAD_KINDS.join(", ")})`,
      defaultText: "0",
    },
    compression: { type: "string", value: "TYPE", description: "none, gzip, snappy, lz4 or zstd", defaultText: "none" },
    acks: { type: "string", value: "ACKS", description: "all, 1 or 0", defaultText: "all" },
    partitions: { type: "string", value: "N", description: "Partitions when the topic is created", defaultText: "3" },
    "max-retries": { type: "string", value: "N", description: "Retries of a failed batch", defaultText: "3" },
    "retry-delay-ms": { type: "string", value: "MS", description: "First retry delay, doubled each retry", defaultText: "1000" },
    format: { type: "string", value: "F", description: "json or avro (Confluent-framed, user-login only)", defaultText: "json" },
    subject: { type: "string", value: "S", description: "Registry subject for --format avro", defaultText: "<topic>-value" },
    "schema-id": { type: "string", value: "N", description: "Frame Avro with this schema id, without the registry" },
    "schema-registry": { type: "string", value: "SECTION", description: "Schema Registry section of the config", defaultText: "schema_registry" },
    json: { type: "boolean", description: "Print the summary as one JSON document on stdout instead of a line" },
    ...METRICS_OPTION,
  },
  examples: [
    "bun tools/produce-test-data.ts --config config/local-stack.ini --topic logins --count 1000",
    "bun tools/produce-test-data.ts --topic items --generator item --rate 28 --duration 3600",
    "bun tools/produce-test-data.ts --topic items --generator item --interval-ms 36 --batch-size 1 --count 0",
    "bun tools/produce-test-data.ts --topic bench --generator raw --size 1024 --count 500000 --json",
    "bun tools/produce-test-data.ts --topic dlq-test --bad-ratio 0.1 --seed 42 --count 10000",
    "bun tools/produce-test-data.ts --topic user-login --generator user-login-mix --seed 7 --count 50000",
    "bun tools/produce-test-data.ts --topic user-login --format avro --count 10000",
  ],
});

const ACKS: Record<string, Acks> = { all: -1, "1": 1, "0": 0 };

await runTool(spec, async (flags, ctx) => {
  const generatorKind = flags.choice("generator", GENERATOR_KINDS, "user-login");
  const keyMode = flags.has("key") ? flags.choice("key", KEY_MODES, "uuid") : undefined;
  const seed = flags.int("seed", undefined, { min: 0, max: 2 ** 32 - 1 });
  const badRatio = flags.number("bad-ratio", 0, { min: 0, max: 1 });
  if (generatorKind === "user-login-mix" && badRatio > 0) throw new UsageError("--bad-ratio does not apply to user-login-mix, which has its own shares (see above)");
  if (flags.has("size") && generatorKind !== "raw") throw new UsageError("--size applies to --generator raw only");
  const size = flags.int("size", 1024, { min: RAW_MIN_SIZE });
  const durationSec = flags.number("duration", 0, { min: 0 });
  const count = flags.int("count", durationSec > 0 ? 0 : 1000, { min: 0 });
  if (flags.has("rate") && flags.has("interval-ms")) throw new UsageError("use --rate or --interval-ms, not both");
  const rate = flags.has("rate") ? flags.number("rate", 0, { min: 0.001 }) : undefined;
  const intervalMs = flags.has("interval-ms") ? flags.number("interval-ms", 0, { min: 1 }) : undefined;
  const batchSize = flags.int("batch-size", intervalMs ? 100 : rate ? batchSizeForRate(rate) : 1000, { min: 1 });
  const ratePerSec = intervalMs ? rateFromInterval(intervalMs, batchSize) : rate;
  const maxInFlight = flags.int("max-in-flight", 8, { min: 1 });
  const compression = flags.choice("compression", COMPRESSION_NAMES, "none");
  const acks = ACKS[flags.choice("acks", ["all", "1", "0"] as const, "all")] ?? -1;
  const partitions = flags.int("partitions", 3, { min: 1 });
  const retries = flags.int("max-retries", 3, { min: 0 });
  const retryDelayMs = flags.int("retry-delay-ms", 1000, { min: 1 });

  const format = flags.choice("format", ["json", "avro"] as const, "json");
  if (format === "avro" && generatorKind !== "user-login") throw new UsageError("--format avro applies to --generator user-login only");
  for (const avroOnly of ["subject", "schema-id", "schema-registry"] as const) {
    if (format !== "avro" && flags.has(avroOnly)) throw new UsageError(`--${avroOnly} needs --format avro`);
  }
  const schemaIdFlag = flags.int("schema-id", undefined, { min: 0, max: 2 ** 31 - 1 });

  const section = kafkaSection(ctx.config(), flags.string("kafka", "local_kafka"));
  const topic = flags.string("topic") ?? section.defaultProducerTopic;
  if (!topic) throw new UsageError(`--topic is required ([${section.name}] has no default_producer_topic)`);

  // Loaded after the flags are parsed: the drivers take longer to load than --help to answer.
  const { compressionType } = await import("../lib/kafka/codecs.ts");
  const { createKafka, describeKafka } = await import("../lib/kafka/client.ts");
  const { ensureTopic } = await import("../lib/kafka/topics.ts");
  const metrics = await startToolMetrics({ address: flags.string("metrics"), tool: spec.name, log: ctx.log });

  let encoding: ReturnType<typeof avroEncoding> | undefined;
  if (format === "avro") {
    const schemaText = readFileSync(USER_LOGIN_AVSC, "utf8");
    let schemaId = schemaIdFlag;
    if (schemaId === undefined) {
      const registry = registryFromFlags(flags, ctx.config, ctx.signal);
      const subject = flags.string("subject") ?? `${topic}-value`;
      schemaId = (await registry.register(subject, JSON.stringify(JSON.parse(schemaText)))).id;
      ctx.log.info("schema registered", { registry: registry.url, subject, schema_id: schemaId });
    }
    const { avroType } = await import("../lib/avro/types.ts");
    encoding = avroEncoding(avroType(schemaText), schemaId);
  }

  const kafka = createKafka(section, ctx.log, { retries: 2 });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: fastDefaultPartitioner, allowAutoTopicCreation: false });
  ctx.log.info("connecting", { kafka: describeKafka(section), topic });
  try {
    await admin.connect();
    const ensured = await ensureTopic(admin, topic, { partitions });
    ctx.log.info(ensured.created ? "topic created" : "topic exists", { topic, partitions: ensured.partitions });
    await producer.connect();

    const generator = createGenerator({ kind: generatorKind, key: keyMode, seed, size, badRatio, encoding });
    const badCounts: Partial<Record<BadKind | string, number>> = {};
    const progress = createProgress({ logger: ctx.log, everyMessages: 100_000, everyMs: 5_000, message: "produced" });
    const measured = metrics.producer(topic);
    const summary = await produceMessages({
      producer: measured ? measured.timed(producer) : producer,
      topic,
      nextBatch: (n) => {
        const batch = generator.batch(n);
        for (const m of batch) if (m.bad) badCounts[m.bad] = (badCounts[m.bad] ?? 0) + 1;
        return batch;
      },
      total: count > 0 ? count : undefined,
      durationMs: durationSec > 0 ? durationSec * 1000 : undefined,
      batchSize,
      ratePerSec,
      maxInFlight,
      acks,
      compression: compressionType(compression),
      retry: { retries, initialDelayMs: retryDelayMs, maxDelayMs: 30_000 },
      signal: ctx.signal,
      log: ctx.log,
      onAcknowledged: (messages, bytes) => {
        progress.record(messages, bytes);
        measured?.hooks.onAcknowledged(messages, bytes);
      },
      onRetry: measured?.hooks.onRetry,
      onFailed: measured?.hooks.onFailed,
    });
    progress.stop();

    const report = {
      topic,
      generator: generatorKind,
      format,
      ...(seed !== undefined ? { seed } : {}),
      sent: summary.sent,
      failed: summary.failed,
      malformed: badCounts,
      bytes: summary.bytes,
      elapsed_ms: summary.elapsedMs,
      messages_per_sec: summary.messagesPerSec,
      mb_per_sec: Math.round((summary.bytes / 1e6 / (summary.elapsedMs / 1000)) * 100) / 100,
      retries: summary.retries,
      stopped_by: summary.stoppedBy,
    };
    ctx.log.info("done", report);
    process.stdout.write(
      flags.bool("json")
        ? JSON.stringify(report) + "\n"
        : `sent ${report.sent}, failed ${report.failed} to ${topic} in ${(report.elapsed_ms / 1000).toFixed(1)} s: ` +
            `${report.messages_per_sec} msg/s, ${report.mb_per_sec} MB/s (stopped by ${report.stopped_by})\n`,
    );

    if (summary.failed > 0 || summary.stoppedBy === "failure") return 1;
    if (summary.stoppedBy === "signal" && count > 0) {
      ctx.log.warn("interrupted before --count was reached", { sent: summary.sent, count });
      return 1;
    }
    return 0;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await metrics.close();
  }
});
