/**
 * verify-topic: reads a topic from the beginning to its current end and
 * reports what it holds; optionally checks that every offset landed in
 * MongoDB or in the dead-letter topic. See --help.
 */
import { defineTool, type Flags } from "../lib/cli/flags.ts";
import { runTool } from "../lib/cli/run.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { mongoSection } from "../lib/config/mongo-section.ts";
import type { ConfigSource } from "../lib/config/source.ts";
import { UsageError } from "../lib/errors.ts";
import { fetchLandedOffsets } from "../lib/inspect/landed-offsets.ts";
import { reconcile } from "../lib/inspect/reconcile.ts";
import { SCHEMA_NAMES } from "../lib/inspect/schemas.ts";
import { settleAll } from "../lib/inspect/settle-all.ts";
import { createTopicStats } from "../lib/inspect/topic-stats.ts";
import { buildVerifyReport, formatVerifyReport } from "../lib/inspect/verify-report.ts";
import { AVRO_OPTIONS, avroDecoderFromFlags } from "../lib/avro/flags.ts";

const spec = defineTool({
  name: "verify-topic",
  summary: "Read a topic to its current end and report what it holds.",
  description: [
    "Reads every partition from its earliest offset to the end offset it had at the start, without",
    "committing (a throwaway consumer group, deleted afterwards), then prints per-partition counts",
    "and offset ranges, how many values are JSON, and with --schema a validation summary by reason.",
    "",
    "--value-format avro decodes Confluent-framed Avro with the writer schemas from the Schema",
    "Registry (or --avro-schema files), counts values per schema id and undecodable ones by reason,",
    "checks --schema against the decoded values and shows samples as JSON.",
    "",
    "Reconciliation: --against-mongo checks that every offset read is a document in the collection",
    "(matched on _kafka_topic, _kafka_partition, _kafka_offset) or a dead letter in --dlq-topic",
    "(matched on its x-source-topic/-partition/-offset headers). The MongoDB section is --mongo",
    "(default mongodb); --against-mongo itself takes no value.",
    "",
    "Exits 1 when the read did not reach the end, when --expect-count differs, or when an offset is",
    "missing from both MongoDB and the dead-letter topic.",
  ],
  options: {
    topic: { type: "string", value: "T", description: "Topic to read (required)" },
    kafka: { type: "string", value: "SECTION", description: "Kafka section of the config", defaultText: "local_kafka" },
    schema: { type: "string", value: "NAME", description: `Validate values: ${SCHEMA_NAMES.join(", ")}` },
    sample: { type: "string", value: "N", description: "Print the first N messages", defaultText: "0" },
    "expect-count": { type: "string", value: "N", description: "Exit 1 unless the topic holds exactly N messages" },
    "against-mongo": { type: "boolean", description: "Reconcile the topic with MongoDB and the dead-letter topic" },
    mongo: { type: "string", value: "SECTION", description: "MongoDB section for --against-mongo", defaultText: "mongodb" },
    db: { type: "string", value: "D", description: "Database", defaultText: "[section] default_database" },
    collection: { type: "string", value: "C", description: "Collection", defaultText: "[section] default_collection" },
    "dlq-topic": { type: "string", value: "T", description: "Dead-letter topic", defaultText: "<topic>.dlq" },
    "idle-timeout": {
      type: "string",
      value: "SECONDS",
      description: "Give up when a read makes no progress for this long",
      defaultText: "30",
    },
    "value-format": { type: "string", value: "F", description: "json, or avro (Confluent-framed)", defaultText: "json" },
    ...AVRO_OPTIONS,
    json: { type: "boolean", description: "Print one JSON report on stdout" },
  },
  examples: [
    "bun tools/verify-topic.ts --config config/local-stack.ini --topic logins",
    "bun tools/verify-topic.ts --topic logins --schema user-login --sample 5",
    "bun tools/verify-topic.ts --topic logins --expect-count 1000 --json",
    "bun tools/verify-topic.ts --topic user-login --value-format avro --schema user-login --sample 3",
    "bun tools/verify-topic.ts --topic logins --against-mongo --collection logins",
    "bun tools/verify-topic.ts --topic logins --against-mongo --mongo archive_mongo --db events --dlq-topic logins-dlq",
  ],
});

const LIST_LIMIT = 10;

await runTool(spec, async (flags, ctx) => {
  const topic = flags.string("topic");
  if (!topic) throw new UsageError("--topic is required");
  const schema = flags.has("schema") ? flags.choice("schema", SCHEMA_NAMES, "user-login") : undefined;
  const sampleSize = flags.int("sample", 0, { min: 0 });
  const expectCount = flags.int("expect-count", undefined, { min: 0 });
  const idleTimeoutMs = flags.number("idle-timeout", 30, { min: 1 }) * 1000;
  const dlqTopic = flags.string("dlq-topic", `${topic}.dlq`);

  const valueFormat = flags.choice("value-format", ["json", "avro"] as const, "json");
  if (valueFormat !== "avro" && flags.has("avro-schema")) throw new UsageError("--avro-schema needs --value-format avro");
  const avro = valueFormat === "avro" ? await avroDecoderFromFlags(flags, ctx.config, ctx.signal) : undefined;
  const kafkaConfig = kafkaSection(ctx.config(), flags.string("kafka", "local_kafka"));
  const target = flags.bool("against-mongo") ? mongoTarget(flags, ctx.config()) : undefined;

  // Loaded after the flags are parsed: the drivers take longer to load than --help to answer.
  const { createKafka, describeKafka } = await import("../lib/kafka/client.ts");
  const { createMongoClient } = await import("../lib/mongo/client.ts");
  const { readTopicToEnd } = await import("../lib/inspect/read-topic.ts");
  const { readDeadLetterSources } = await import("../lib/inspect/dead-letter-sources.ts");
  const kafka = createKafka(kafkaConfig, ctx.log, { retries: 2 });
  const stats = createTopicStats({ schema, sampleSize, keepOffsets: target !== undefined, avro });
  const readOptions = { log: ctx.log, idleTimeoutMs, signal: ctx.signal };
  ctx.log.info("reading", { kafka: describeKafka(kafkaConfig), topic, ...(target ? { mongo: target.label } : {}) });

  const mongo = target ? createMongoClient(target.section, { timeoutMs: 10_000 }) : undefined;
  try {
    const [read, deadLetters, landed] = await settleAll([
      readTopicToEnd(kafka, topic, {
        ...readOptions,
        groupPrefix: "kafka-toolkit-verify",
        onMessages: async (partition, messages) => {
          await stats.prepare(messages);
          for (const m of messages) stats.add(partition, m);
        },
      }),
      target ? readDeadLetterSources(kafka, dlqTopic, topic, readOptions) : undefined,
      mongo && target
        ? mongo.connect().then(() => fetchLandedOffsets(mongo.db(target.db).collection(target.collection), topic))
        : undefined,
    ] as const);

    const report = buildVerifyReport({
      topic,
      read,
      stats: stats.report(),
      expectCount,
      reconciliation:
        target && deadLetters && landed
          ? {
              mongo: target.label,
              documents: landed.documents,
              unreadableDocuments: landed.unreadable,
              dlqTopic,
              dlqExists: deadLetters.exists,
              dlqComplete: deadLetters.complete,
              dlqMessages: deadLetters.messages,
              unreadableDeadLetters: deadLetters.unreadable,
              result: reconcile({
                topicOffsets: stats.offsets(),
                landed: landed.counts,
                deadLettered: deadLetters.counts,
                listLimit: LIST_LIMIT,
              }),
            }
          : undefined,
    });

    process.stdout.write((flags.bool("json") ? JSON.stringify(report) : formatVerifyReport(report)) + "\n");
    for (const problem of report.problems) ctx.log.error(problem);
    if (report.ok) ctx.log.info("verified", { topic, messages: report.messages });
    return report.ok ? 0 : 1;
  } finally {
    await mongo?.close();
  }
});

function mongoTarget(flags: Flags, config: ConfigSource) {
  const section = mongoSection(config, flags.string("mongo", "mongodb"));
  const db = flags.string("db") ?? section.defaultDatabase;
  const collection = flags.string("collection") ?? section.defaultCollection;
  if (!db) throw new UsageError(`--db is required ([${section.name}] has no default_database)`);
  if (!collection) throw new UsageError(`--collection is required ([${section.name}] has no default_collection)`);
  return { section, db, collection, label: `[${section.name}] ${db}.${collection}` };
}
