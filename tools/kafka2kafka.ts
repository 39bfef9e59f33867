/**
 * kafka2kafka: replicate topics from one Kafka cluster to another, byte for
 * byte (key, value, headers, timestamp), at least once, without loss.
 */
import { runTool } from "../lib/cli/run.ts";
import { defineTool } from "../lib/cli/flags.ts";
import { PIPELINE_OPTIONS, pipelineRunFlags } from "../lib/cli/pipeline-flags.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { COMPRESSION_NAMES } from "../lib/kafka/compression-names.ts";
import { reportSummary } from "../lib/cli/summary.ts";
import { startToolMetrics } from "../lib/metrics/tool-metrics.ts";
import { errorMessage, UsageError } from "../lib/errors.ts";
import { AVRO_OPTIONS, avroDecoderFromFlags } from "../lib/avro/flags.ts";
import { DEFAULT_OFFSET_SYNCS_TOPIC, defaultDeadLetterTopic, destinationNaming } from "../lib/kafka/replication-rules.ts";

const DEFAULT_BATCH_SIZE = 2000;

const spec = defineTool({
  name: "kafka2kafka",
  summary: "Replicate Kafka topics to another cluster, byte for byte.",
  description: [
    "Key, value, headers and timestamp are copied unchanged, through an idempotent producer",
    "with acks=all; a source offset is committed only after the destination acknowledged",
    "its copy (at least once: after a crash, uncommitted messages are copied again, so",
    "duplicates are possible, loss is not). A missing destination topic is created with the",
    "source's partition count; --partitioning preserve keeps every message in its partition",
    "number and refuses a destination with fewer partitions before copying anything.",
    "Headers keep their order, repeated names and null values, byte for byte.",
    "Loop prevention: every copy gets an x-source-cluster header (the source's cluster id) after",
    "its own headers, and a message whose x-source-cluster names the destination's cluster id is",
    "skipped, so two runs copying both ways under the same names never loop. --provenance-headers",
    "also adds x-source-topic, x-source-partition and x-source-offset. --no-provenance adds nothing",
    "(copies keep exactly the source's headers) and refuses a two-way setup it cannot protect.",
    "Messages the destination refuses (too large) go to the dead-letter topic on the source cluster.",
    "Offset syncs (as MirrorMaker 2's): which destination offset holds the copy of which source offset is",
    "written every second to the compacted topic --offset-syncs-topic on the destination. --sync-groups RE",
    "translates the committed offsets of the matching source groups through them and commits them to the",
    "same groups on the destination (only while a group has no active member there, only forward), every",
    "--sync-interval and once more when the run ends, and prints each group's offsets and lag on both sides.",
    "A consumer that moves to the destination then skips nothing, and re-reads at most what it consumed on",
    "the source since the last group sync (plus up to a second of copies not yet in the offset syncs).",
    "--check-schema also dead-letters values that are not Confluent-framed Avro decodable with their",
    "writer schema (Schema Registry [schema_registry], or --avro-schema files); copies stay byte-exact.",
    "--commit transaction (source and destination on one cluster): each chunk's copies and the",
    "group's offsets are committed in one Kafka transaction, so read_committed readers see every",
    "message exactly once, even after a crash; transactional ids are kafka2kafka.<group>.<topic>.<partition>.",
  ],
  options: {
    from: { type: "string", value: "SECTION", description: "Kafka section to read from", defaultText: "remote_kafka" },
    to: { type: "string", value: "SECTION", description: "Kafka section to write to", defaultText: "local_kafka" },
    topic: {
      type: "string",
      value: "T",
      multiple: true,
      description: "Source topic",
      defaultText: "[from section] default_consumer_topic",
    },
    "topics-regex": { type: "string", value: "RE", description: "Replicate every source topic matching RE (at start), instead of --topic" },
    "dest-topic": { type: "string", value: "T", description: "Destination topic name, for a single --topic", defaultText: "the source name" },
    prefix: { type: "string", value: "P", description: "Destination name = P + source name, e.g. 'remote.'" },
    partitioning: {
      type: "string",
      value: "MODE",
      description: "preserve: same partition number as the source; key: the destination's partitioner by key",
      defaultText: "preserve",
    },
    "provenance-headers": { type: "boolean", description: "Add x-source-topic/-partition/-offset headers too, not just x-source-cluster" },
    "no-provenance": { type: "boolean", description: "No x-source-cluster header (one-way only: refuses a two-way setup)" },
    "offset-syncs-topic": {
      type: "string",
      value: "T",
      description: "Compacted topic of offset syncs, on each cluster; 'none' for no syncs",
      defaultText: DEFAULT_OFFSET_SYNCS_TOPIC,
    },
    "sync-groups": { type: "string", value: "RE", description: "Commit translated offsets of source groups matching RE to the destination" },
    "sync-interval": { type: "string", value: "S", description: "Seconds between group syncs", defaultText: "60" },
    "check-schema": { type: "boolean", description: "Dead-letter values that do not decode as Avro with their schema" },
    ...AVRO_OPTIONS,
    compression: { type: "string", value: "C", description: "Produce with none, gzip, snappy, lz4 or zstd (any codec is read)", defaultText: "none" },
    commit: {
      type: "string",
      value: "HOW",
      description: "offsets: commit after the copy is acknowledged (at least once); transaction: exactly once, one cluster",
      defaultText: "offsets",
    },
    ...PIPELINE_OPTIONS,
    group: { type: "string", value: "G", description: "Consumer group on the source", defaultText: "[from section] default_consumer_group_id" },
    "batch-size": { type: "string", value: "N", description: "Most messages per produce call", defaultText: String(DEFAULT_BATCH_SIZE) },
    "dlq-topic": {
      type: "string",
      value: "T",
      description: "Dead-letter topic on the source cluster",
      defaultText: "<topic>.dlq, or kafka2kafka.dlq for several topics",
    },
    "on-error": { type: "string", value: "MODE", description: "dlq: dead-letter and go on; stop: exit 1 at the first refused message", defaultText: "dlq" },
  },
  examples: [
    "bun tools/kafka2kafka.ts --topic logins --until-caught-up",
    "bun tools/kafka2kafka.ts --from remote_kafka_scram --topic logins --topic orders --prefix remote. --provenance-headers",
    "bun tools/kafka2kafka.ts --topics-regex '^events\\.' --group mirror --partitioning key --compression gzip",
    "bun tools/kafka2kafka.ts --topic logins --dest-topic logins-copy --group replay --from-beginning --max-messages 10000",
    "bun tools/kafka2kafka.ts --topic logins --metrics 127.0.0.1:9465",
    "bun tools/kafka2kafka.ts --topic orders --sync-groups '^billing' --sync-interval 30   # consumer-group failover",
    "bun tools/kafka2kafka.ts --topic user-login --check-schema --until-caught-up",
    "bun tools/kafka2kafka.ts --from local_kafka --to local_kafka --topic orders --prefix eo. --commit transaction",
  ],
});

await runTool(spec, async (flags, ctx) => {
  const { fromBeginning, window, settings } = pipelineRunFlags(flags, { batchSize: DEFAULT_BATCH_SIZE });
  const commitStrategy = flags.choice("commit", ["offsets", "transaction"] as const, "offsets");
  const partitioning = flags.choice("partitioning", ["preserve", "key"] as const, "preserve");
  const compression = flags.choice("compression", COMPRESSION_NAMES, "none");
  const from = kafkaSection(ctx.config(), flags.string("from", "remote_kafka"));
  const to = kafkaSection(ctx.config(), flags.string("to", "local_kafka"));
  const checkSchema = flags.bool("check-schema") ? await avroDecoderFromFlags(flags, ctx.config, ctx.signal) : undefined;
  if (!checkSchema && flags.has("avro-schema")) throw new UsageError("--avro-schema needs --check-schema");

  const named = flags.list("topic");
  const regex = flags.string("topics-regex");
  if (regex !== undefined && named.length) throw new UsageError("--topic and --topics-regex cannot be used together");
  let topics: string[] | RegExp;
  if (regex !== undefined) {
    try {
      topics = new RegExp(regex);
    } catch (error) {
      throw new UsageError(`--topics-regex is not a valid regular expression: ${errorMessage(error)}`);
    }
  } else {
    topics = named.length ? [...new Set(named)] : from.defaultConsumerTopic ? [from.defaultConsumerTopic] : [];
    if (topics.length === 0) throw new UsageError(`--topic is required ([${from.name}] has no default_consumer_topic)`);
  }
  const destinationTopic = destinationNaming(topics, { destTopic: flags.string("dest-topic"), prefix: flags.string("prefix") });
  const groupId = flags.string("group") ?? from.defaultGroupId;
  if (!groupId) throw new UsageError(`--group is required ([${from.name}] has no default_consumer_group_id)`);
  const dlqTopic = flags.string("dlq-topic") ?? defaultDeadLetterTopic(topics);
  if (flags.bool("no-provenance") && flags.bool("provenance-headers")) throw new UsageError("--no-provenance and --provenance-headers cannot be used together");
  const provenance = flags.bool("no-provenance") ? "none" : flags.bool("provenance-headers") ? "full" : "cluster";
  const syncsTopic = flags.string("offset-syncs-topic", DEFAULT_OFFSET_SYNCS_TOPIC);
  const offsetSyncsTopic = syncsTopic === "none" ? undefined : syncsTopic;
  let syncGroups: RegExp | undefined;
  const groupPattern = flags.string("sync-groups");
  if (groupPattern !== undefined) {
    try {
      syncGroups = new RegExp(groupPattern);
    } catch (error) {
      throw new UsageError(`--sync-groups is not a valid regular expression: ${errorMessage(error)}`);
    }
    if (!offsetSyncsTopic) throw new UsageError("--sync-groups needs offset syncs (--offset-syncs-topic none turns them off)");
    if (partitioning !== "preserve" || commitStrategy !== "offsets") throw new UsageError("--sync-groups needs --partitioning preserve and --commit offsets");
  }
  const syncIntervalMs = flags.int("sync-interval", 60, { min: 1 }) * 1000;
  if (provenance === "none" && !offsetSyncsTopic) {
    ctx.log.warn("--no-provenance with --offset-syncs-topic none: a two-way setup cannot be seen, and would loop");
  }

  const metrics = await startToolMetrics({ address: flags.string("metrics"), tool: spec.name, log: ctx.log });
  ctx.log.info("starting", {
    from: from.name,
    to: to.name,
    topics: topics instanceof RegExp ? `/${topics.source}/` : topics,
    group: groupId,
    partitioning,
    provenance,
    offset_syncs: offsetSyncsTopic ?? "none",
    ...(syncGroups ? { sync_groups: `/${syncGroups.source}/` } : {}),
    on_error: settings.onError,
    commit: commitStrategy,
  });
  // Loaded after the flags are parsed: the drivers take longer to load than --help to answer.
  const { kafkaToKafka } = await import("../lib/jobs/kafka-to-kafka.ts");
  const { formatGroupSync } = await import("../lib/replication/group-sync.ts");
  const result = await kafkaToKafka({
    checkSchema,
    from,
    to,
    topics,
    destinationTopic,
    groupId,
    partitioning,
    provenance,
    compression,
    dlqTopic,
    fromBeginning,
    offsetSyncsTopic,
    syncGroups,
    syncIntervalMs,
    window,
    run: { ...settings, commitStrategy, log: ctx.log, signal: ctx.signal },
    ...metrics.pipelineHooks({ sink: "kafka", topics: Array.isArray(topics) ? topics : [] }),
  }).finally(() => metrics.close());
  const { summary } = result;
  reportSummary(summary, {
    log: ctx.log,
    json: flags.bool("json"),
    written: "copied",
    duplicatesText: "duplicates allowed by at-least-once (not detected)",
    extra: {
      // The destination cannot tell a redelivered copy from a new message.
      duplicates: null,
      duplicates_note: "allowed by at-least-once; not detected on the destination",
      skipped_by_loop_prevention: summary.skipped,
      source_cluster: result.sourceCluster,
      destination_cluster: result.destinationCluster,
      topics: Object.fromEntries(result.pairs.map((p) => [p.source, p.destination])),
      ...(result.groupSync ? { group_sync: result.groupSync } : {}),
    },
  });
  if (result.groupSync?.length && !flags.bool("json")) process.stdout.write(formatGroupSync(result.groupSync) + "\n");
  if (summary.error) throw summary.error;
  if (result.syncError) throw result.syncError;
  return 0;
});
