/**
 * mongo2kafka: stream a MongoDB collection into a Kafka topic, like Kafka
 * Connect's MongoDB source connector, by polling an increasing field.
 */
import { runTool } from "../lib/cli/run.ts";
import { defineTool } from "../lib/cli/flags.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { mongoSection } from "../lib/config/mongo-section.ts";
import { UsageError } from "../lib/errors.ts";

const spec = defineTool({
  name: "mongo2kafka",
  summary: "Stream a MongoDB collection into a Kafka topic, one message per document.",
  description: [
    "Reads the collection in order of an increasing field (--since-field, _id by default) and",
    "sends each document as relaxed Extended JSON (--canonical for canonical), keyed by its _id",
    "in the same form, through an idempotent producer with acks=all. The position is saved to",
    "--checkpoint (a JSON file, written atomically and fsynced) only after Kafka acknowledged",
    "every message before it, so a kill -9 loses nothing; the one batch sent but not yet",
    "acknowledged is sent again on the next run and counted as `resent`.",
    "Polling works on FerretDB and standalone MongoDB; it does not see updates or deletes of",
    "documents already sent, and the field must hold one BSON type. When it holds a time",
    "(ObjectId, Date, Timestamp) a document is sent once that time is --delay ms old, so one",
    "inserted late with a smaller value (another client's ObjectId of the same second, a clock",
    "behind) is not skipped as long as it is visible within --delay of its time. Other fields",
    "(numbers, strings) must become visible in increasing order (one writer, a sequence).",
  ],
  options: {
    mongo: { type: "string", value: "SECTION", description: "MongoDB section of the config", defaultText: "mongodb" },
    db: { type: "string", value: "NAME", description: "Database", defaultText: "[section] default_database" },
    collection: { type: "string", value: "NAME", description: "Collection", defaultText: "[section] default_collection" },
    kafka: { type: "string", value: "SECTION", description: "Kafka section of the config", defaultText: "local_kafka" },
    topic: { type: "string", value: "T", description: "Topic to produce to (created when missing)", defaultText: "[section] default_producer_topic" },
    "since-field": { type: "string", value: "FIELD", description: "Increasing field to poll on (dotted paths allowed)", defaultText: "_id" },
    initial: {
      type: "string",
      value: "MODE",
      description: "Without a checkpoint: snapshot sends the documents already there, none only later ones",
      defaultText: "snapshot",
    },
    checkpoint: {
      type: "string",
      value: "PATH",
      description: "Checkpoint file",
      defaultText: "state/mongo2kafka/<db>.<collection>.<topic>.json",
    },
    order: {
      type: "string",
      value: "HOW",
      description: "server: sort and limit on the server (needs an index on the field); client: read all after the checkpoint and sort here (FerretDB does not push sorts down)",
      defaultText: "client on FerretDB, server elsewhere",
    },
    delay: {
      type: "string",
      value: "MS",
      description: "Send a document once the time in its field is MS old (0: at once, gaps possible)",
      defaultText: "5000",
    },
    "poll-interval": { type: "string", value: "MS", description: "Wait between polls once caught up", defaultText: "1000" },
    "batch-size": { type: "string", value: "N", description: "Documents per read and per send", defaultText: "500" },
    canonical: { type: "boolean", description: "Canonical Extended JSON ({\"$numberInt\":\"1\"}) instead of relaxed" },
    "until-caught-up": { type: "boolean", description: "Exit 0 once no document is left to send (for cron)" },
    "log-interval": { type: "string", value: "N", description: "Progress line every N messages (and every 10 s)", defaultText: "1000" },
    json: { type: "boolean", description: "Print the final summary as JSON on stdout" },
  },
  examples: [
    "bun tools/mongo2kafka.ts --db shop --collection orders --topic shop.orders --until-caught-up",
    "bun tools/mongo2kafka.ts --db shop --collection orders --topic shop.orders --poll-interval 500",
    "bun tools/mongo2kafka.ts --db app --collection events --since-field created_at --initial none --topic app.events",
  ],
});

await runTool(spec, async (flags, ctx) => {
  const initial = flags.choice("initial", ["snapshot", "none"] as const, "snapshot");
  const order = flags.has("order") ? flags.choice("order", ["server", "client"] as const, "server") : undefined;
  const field = flags.string("since-field", "_id");
  if (!/^[^$.][^$]*$/.test(field) || field.endsWith(".")) throw new UsageError(`--since-field: '${field}' is not a field path`);
  const pollIntervalMs = flags.int("poll-interval", 1000, { min: 10 });
  const delayMs = flags.int("delay", 5000, { min: 0 });
  const batchSize = flags.int("batch-size", 500, { min: 1, max: 100_000 });
  const logInterval = flags.int("log-interval", 1000, { min: 1 });
  const kafka = kafkaSection(ctx.config(), flags.string("kafka", "local_kafka"));
  const mongo = mongoSection(ctx.config(), flags.string("mongo", "mongodb"));
  const database = flags.string("db") ?? mongo.defaultDatabase;
  const collection = flags.string("collection") ?? mongo.defaultCollection;
  const topic = flags.string("topic") ?? kafka.defaultProducerTopic;
  if (!database) throw new UsageError(`--db is required ([${mongo.name}] has no default_database)`);
  if (!collection) throw new UsageError(`--collection is required ([${mongo.name}] has no default_collection)`);
  if (!topic) throw new UsageError(`--topic is required ([${kafka.name}] has no default_producer_topic)`);
  const checkpointPath = flags.string("checkpoint") ?? `state/mongo2kafka/${database}.${collection}.${topic}.json`;

  ctx.log.info("starting", { source: `${database}.${collection}`, topic, since_field: field, delay_ms: delayMs, initial, checkpoint: checkpointPath });
  // Loaded after the flags are parsed: the drivers take longer to load than --help to answer.
  const { mongoToKafka } = await import("../lib/jobs/mongo-to-kafka.ts");
  const summary = await mongoToKafka({
    kafka,
    mongo,
    database,
    collection,
    topic,
    field,
    initial,
    checkpointPath,
    delayMs,
    order,
    batchSize,
    pollIntervalMs,
    untilCaughtUp: flags.bool("until-caught-up"),
    canonical: flags.bool("canonical"),
    logInterval,
    log: ctx.log,
    signal: ctx.signal,
  });
  const fields = {
    read: summary.read,
    produced: summary.produced,
    resent: summary.resent,
    messages_per_sec: summary.messagesPerSec,
    elapsed_ms: Math.round(summary.elapsedMs),
    position: summary.position,
    stopped_by: summary.stoppedBy,
    topic,
  };
  ctx.log.info("summary", fields);
  process.stdout.write(
    flags.bool("json")
      ? `${JSON.stringify(fields)}\n`
      : `read ${summary.read}, produced ${summary.produced}, resent after a crash ${summary.resent}, ${summary.messagesPerSec} msg/s, position ${summary.position ?? "start"} (stopped by ${summary.stoppedBy})\n`,
  );
  return 0;
});
