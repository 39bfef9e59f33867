/**
 * kafka2mongo: persist a Kafka topic into a MongoDB collection, each message
 * a document enriched with its Kafka metadata, at least once, without loss.
 */
import { runTool } from "../lib/cli/run.ts";
import { defineTool } from "../lib/cli/flags.ts";
import { PIPELINE_OPTIONS, pipelineRunFlags } from "../lib/cli/pipeline-flags.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { mongoSection } from "../lib/config/mongo-section.ts";
import { reportSummary } from "../lib/cli/summary.ts";
import { UsageError } from "../lib/errors.ts";
import { parseIndexFields } from "../lib/mongo/indexes.ts";
import { startToolMetrics } from "../lib/metrics/tool-metrics.ts";
import { AVRO_OPTIONS, avroDecoderFromFlags } from "../lib/avro/flags.ts";

const spec = defineTool({
  name: "kafka2mongo",
  summary: "Persist a Kafka topic into MongoDB with its Kafka metadata.",
  description: [
    "Each message becomes a document: a JSON object's fields at top level (anything else",
    "under `value`), plus _kafka_key, _kafka_topic, _kafka_partition, _kafka_offset,",
    "_kafka_timestamp, _kafka_headers and _processed_at. Offsets are committed only after",
    "their documents are written or their messages are in the dead-letter topic.",
    "",
    "--value-format avro reads Confluent-framed Avro with the writer schema from the Schema",
    "Registry ([schema_registry] url) or from --avro-schema files: long -> Int64,",
    "timestamp-millis/micros -> Date, decimal -> Decimal128, bytes/fixed -> Binary, enums and",
    "uuids -> strings, unions unwrapped. A message whose schema id is unknown or whose body",
    "does not decode is dead-lettered; a registry that stays down stops the run (exit 1)",
    "without committing. FerretDB 1.x cannot store Decimal128: use --avro-decimals string there.",
  ],
  options: {
    topic: { type: "string", value: "T", description: "Topic to consume", defaultText: "[section] default_consumer_topic" },
    kafka: { type: "string", value: "SECTION", description: "Kafka section of the config", defaultText: "local_kafka" },
    mongo: { type: "string", value: "SECTION", description: "MongoDB section of the config", defaultText: "mongodb" },
    db: { type: "string", value: "NAME", description: "Database", defaultText: "[section] default_database" },
    collection: { type: "string", value: "NAME", description: "Collection", defaultText: "[section] default_collection" },
    ...PIPELINE_OPTIONS,
    "dlq-topic": { type: "string", value: "T", description: "Dead-letter topic", defaultText: "<topic>.dlq" },
    "id-strategy": {
      type: "string",
      value: "S",
      description: "offset (_id topic:partition:offset, redelivery-proof), key, or objectid",
      defaultText: "offset",
    },
    "value-format": { type: "string", value: "F", description: "json, text (store values as strings), or avro", defaultText: "json" },
    "key-format": { type: "string", value: "F", description: "text (UTF-8), or avro", defaultText: "text" },
    ...AVRO_OPTIONS,
    "write-mode": {
      type: "string",
      value: "M",
      description: "insert (a redelivered _id is a duplicate), or upsert (replace the document with that _id; with --id-strategy key the latest message for a key wins and a tombstone deletes it)",
      defaultText: "insert",
    },
    index: { type: "string", value: "F[,F...]", description: "Create an ascending index on each field at start (idempotent)" },
  },
  examples: [
    "bun tools/kafka2mongo.ts --topic logins --until-caught-up",
    "bun tools/kafka2mongo.ts --topic users --id-strategy key --write-mode upsert --index email",
    "bun tools/kafka2mongo.ts --topic logins --group replay --from-beginning --collection logins_replay",
    "bun tools/kafka2mongo.ts --topic logins --group replay-0900 --from-time 2025-03-18T09:00:00Z --to-time 2025-03-18T10:00:00Z --collection logins_0900",
    "bun tools/kafka2mongo.ts --config prod.ini --kafka local_kafka --topic orders --on-error stop --max-messages 1000",
    "bun tools/kafka2mongo.ts --topic logins --metrics :9464   # Prometheus scrapes http://host:9464/metrics",
    "bun tools/kafka2mongo.ts --topic user-login --value-format avro --until-caught-up",
    "bun tools/kafka2mongo.ts --topic user-login --value-format avro --avro-schema schemas/ --until-caught-up",
  ],
});

await runTool(spec, async (flags, ctx) => {
  const { fromBeginning, window, settings } = pipelineRunFlags(flags);
  const idStrategy = flags.choice("id-strategy", ["offset", "key", "objectid"] as const, "offset");
  const valueFormat = flags.choice("value-format", ["json", "text", "avro"] as const, "json");
  const keyFormat = flags.choice("key-format", ["text", "avro"] as const, "text");
  const usesAvro = valueFormat === "avro" || keyFormat === "avro";
  if (!usesAvro && flags.has("avro-schema")) throw new UsageError("--avro-schema needs --value-format avro or --key-format avro");
  const avro = usesAvro ? await avroDecoderFromFlags(flags, ctx.config, ctx.signal) : undefined;
  const writeMode = flags.choice("write-mode", ["insert", "upsert"] as const, "insert");
  const indexes = parseIndexFields(flags.string("index") ?? "");
  if (flags.has("index") && indexes.length === 0) throw new UsageError("--index needs at least one field name");
  const badField = indexes.find((f) => f.startsWith("$"));
  if (badField) throw new UsageError(`--index: '${badField}' is not a field name`);
  const kafka = kafkaSection(ctx.config(), flags.string("kafka", "local_kafka"));
  const mongo = mongoSection(ctx.config(), flags.string("mongo", "mongodb"));

  const topic = flags.string("topic") ?? kafka.defaultConsumerTopic;
  const groupId = flags.string("group") ?? kafka.defaultGroupId;
  const database = flags.string("db") ?? mongo.defaultDatabase;
  const collection = flags.string("collection") ?? mongo.defaultCollection;
  if (!topic) throw new UsageError(`--topic is required ([${kafka.name}] has no default_consumer_topic)`);
  if (!groupId) throw new UsageError(`--group is required ([${kafka.name}] has no default_consumer_group_id)`);
  if (!database) throw new UsageError(`--db is required ([${mongo.name}] has no default_database)`);
  if (!collection) throw new UsageError(`--collection is required ([${mongo.name}] has no default_collection)`);
  const dlqTopic = flags.string("dlq-topic") ?? `${topic}.dlq`;
  // Dead letters appended to the topic itself would be consumed, fail again and loop forever.
  if (dlqTopic === topic) throw new UsageError(`--dlq-topic '${dlqTopic}' is the topic being consumed; choose another dead-letter topic`);

  const metrics = await startToolMetrics({ address: flags.string("metrics"), tool: spec.name, log: ctx.log });
  ctx.log.info("starting", {
    topic,
    group: groupId,
    target: `${database}.${collection}`,
    on_error: settings.onError,
    id_strategy: idStrategy,
    ...(avro ? { schemas: avro.source } : {}),
  });
  // Loaded after the flags are parsed: the drivers take longer to load than --help to answer.
  const { kafkaToMongo } = await import("../lib/jobs/kafka-to-mongo.ts");
  const summary = await kafkaToMongo({
    kafka,
    mongo,
    topic,
    groupId,
    database,
    collection,
    dlqTopic,
    writeMode,
    indexes,
    idStrategy,
    valueFormat,
    keyFormat,
    avro,
    fromBeginning,
    window,
    run: { ...settings, log: ctx.log, signal: ctx.signal },
    ...metrics.pipelineHooks({ sink: "mongodb", topics: [topic] }),
  }).finally(() => metrics.close());
  reportSummary(summary, { log: ctx.log, json: flags.bool("json"), written: "inserted", extra: { collection: `${database}.${collection}` } });
  if (summary.error) throw summary.error;
  return 0;
});
