/**
 * Kafka → Kafka: the job behind tools/kafka2kafka.ts. Connects both
 * clusters, learns their cluster ids (the identity loop prevention and
 * provenance headers use), prepares the destination topics, runs the engine
 * with the replicate processor and the Kafka sink, and always disconnects.
 *
 * The dead-letter topic lives on the source cluster, next to what it reads:
 * a message the destination refuses (too large) would be refused there too.
 *
 * @example
 * const { summary } = await kafkaToKafka({ from, to, topics: ["logins"], destinationTopic: (t) => t,
 *   groupId: "replicator", partitioning: "preserve", provenance: false, compression: "none",
 *   onError: "dlq", dlqTopic: "logins.dlq", batchSize: 2000, logInterval: 10000, untilCaughtUp: true,
 *   fromBeginning: false, log, signal });
 */
import type { Admin } from "kafkajs";
import { compressionType } from "../kafka/codecs.ts";
import type { CompressionName } from "../kafka/compression-names.ts";
import type { KafkaSection } from "../config/kafka-section.ts";
import { openDeadLetterTopic, type DeadLetterTopic } from "../engine/dead-letter.ts";
import { openKafkaSource, type KafkaSource } from "../engine/kafka-source.ts";
import type { AvroDecoder } from "../avro/decoder.ts";
import { avroValueCheck } from "../processors/avro-check.ts";
import { runPipeline, runSettings, type PipelineSummary, type RunSettings } from "../engine/pipeline.ts";
import type { Sink } from "../engine/sink.ts";
import { UsageError } from "../errors.ts";
import { createKafka, describeKafka } from "../kafka/client.ts";
import { destinationPartitionGuard, prepareDestinationTopics, type TopicPair } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";
import { replicateProcessor, selfReplications, type Partitioning, type ReplicaMessage } from "../processors/replicate.ts";
import { kafkaSink, REPLICATION_PRODUCER } from "../sinks/kafka.ts";


export interface KafkaToKafkaOptions extends RunSettings {
  from: KafkaSection;
  to: KafkaSection;
  /** Source topics, or a pattern matched against the source's topics at start. */
  topics: string[] | RegExp;
  /** Source topic → destination topic (see destinationNaming). */
  destinationTopic: (sourceTopic: string) => string;
  groupId: string;
  partitioning: Partitioning;
  provenance: boolean;
  compression: CompressionName;
  /** Dead-letter topic on the source cluster; required when onError is "dlq". */
  dlqTopic?: string;
  fromBeginning: boolean;
  /** Dead-letter values that do not decode as Avro with this decoder (the copies stay byte-exact). */
  checkSchema?: AvroDecoder;
}

export interface KafkaToKafkaResult {
  summary: PipelineSummary;
  sourceCluster: string;
  destinationCluster: string;
  pairs: TopicPair[];
  /** Destination topics this run created. */
  created: string[];
}

/** Largest produce request the sink builds, whatever the destination allows. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export async function kafkaToKafka(options: KafkaToKafkaOptions): Promise<KafkaToKafkaResult> {
  const { log } = options;
  const sourceKafka = createKafka(options.from, log);
  const destinationKafka = createKafka(options.to, withoutRetryLimitWarning(log));
  const sourceAdmin = sourceKafka.admin();
  const destinationAdmin = destinationKafka.admin();
  let source: KafkaSource | undefined;
  let sink: Sink<ReplicaMessage> | undefined;
  let deadLetters: DeadLetterTopic | undefined;
  try {
    const sourceCluster = await connect(sourceAdmin, options.from, "source");
    const destinationCluster = await connect(destinationAdmin, options.to, "destination");
    log.info("clusters", { source: `${options.from.name} ${sourceCluster}`, destination: `${options.to.name} ${destinationCluster}` });

    const sameCluster = sourceCluster === destinationCluster;
    // Named topics are checked before the group is touched; a pattern once it is resolved.
    if (Array.isArray(options.topics)) refuseSelfReplication(options.topics, options, sourceCluster, sameCluster);

    const topics = options.topics instanceof RegExp && options.onError === "dlq" && options.dlqTopic
      ? excluding(options.topics, options.dlqTopic)
      : options.topics;
    source = await openKafkaSource({
      kafka: sourceKafka,
      groupId: options.groupId,
      topics,
      resetToEarliest: options.fromBeginning,
      log,
    });
    const pairs = source.topics.map((topic) => ({ source: topic, destination: options.destinationTopic(topic) }));
    refuseSelfReplication(source.topics, options, sourceCluster, sameCluster);
    if (options.onError === "dlq" && pairs.some((p) => p.source === options.dlqTopic)) {
      throw new UsageError(`the dead-letter topic '${options.dlqTopic}' is also a source topic; choose another --dlq-topic`);
    }

    const plan = await prepareDestinationTopics({
      source: sourceAdmin,
      destination: destinationAdmin,
      destinationName: `[${options.to.name}]`,
      pairs,
      needPartitions: options.partitioning === "preserve",
      log,
    });
    log.info("replicating", {
      topics: pairs.map((p) => (p.source === p.destination ? p.source : `${p.source} -> ${p.destination}`)),
      partitioning: options.partitioning,
    });

    const producer = destinationKafka.producer(REPLICATION_PRODUCER);
    await producer.connect();
    sink = kafkaSink({
      producer,
      name: `kafka [${options.to.name}]`,
      compression: compressionType(options.compression),
      maxBatchBytes: Math.min(MAX_REQUEST_BYTES, plan.maxMessageBytes),
      partitions:
        options.partitioning === "preserve" ? destinationPartitionGuard(destinationAdmin, new Map(plan.partitions), `[${options.to.name}]`) : undefined,
    });
    if (options.onError === "dlq") {
      if (!options.dlqTopic) throw new UsageError("--on-error dlq needs a dead-letter topic");
      deadLetters = await openDeadLetterTopic(sourceKafka, options.dlqTopic, log);
    }

    const replicate = replicateProcessor({
      sourceCluster,
      destinationCluster,
      partitioning: options.partitioning,
      provenance: options.provenance,
      destinationTopic: options.destinationTopic,
    });
    const check = options.checkSchema ? avroValueCheck(options.checkSchema) : undefined;
    const summary = await runPipeline({
      source,
      processor: check ? check.wrap(replicate) : replicate,
      prepare: check?.prepare,
      sink,
      deadLetters,
      ...runSettings(options),
      // One write at a time: a later chunk of a partition must never land before an earlier one.
      sinkConcurrency: 1,
    });
    return { summary, sourceCluster, destinationCluster, pairs, created: plan.created };
  } finally {
    await source?.close().catch((e) => log.warn("closing the consumer failed", { error: String(e) }));
    await sink?.close().catch((e) => log.warn("closing the producer failed", { error: String(e) }));
    await deadLetters?.close().catch(() => {});
    await sourceAdmin.disconnect().catch(() => {});
    await destinationAdmin.disconnect().catch(() => {});
  }
}

/** Connects an admin client and returns the cluster id; failures name the side and the section. */
async function connect(admin: Admin, section: KafkaSection, side: "source" | "destination"): Promise<string> {
  try {
    await admin.connect();
    return (await admin.describeCluster()).clusterId;
  } catch (error) {
    const e = error as Error;
    const hint = e.name === "KafkaJSSASLAuthenticationError" ? " (check username, password and sasl_mechanism)" : "";
    throw new Error(`cannot connect to the ${side} ${describeKafka(section)}: ${e.message}${hint}`, { cause: error });
  }
}

function refuseSelfReplication(topics: string[], options: KafkaToKafkaOptions, clusterId: string, sameCluster: boolean): void {
  const onItself = selfReplications(topics, options.destinationTopic, sameCluster);
  if (onItself.length) {
    throw new UsageError(
      `--from [${options.from.name}] and --to [${options.to.name}] are the same cluster (${clusterId}): ` +
        `topic '${onItself[0]}' would be copied onto itself; name the copies with --prefix or --dest-topic`,
    );
  }
}

/** The pattern, minus one exact topic name (the dead-letter topic must not be replicated). */
export function excluding(pattern: RegExp, topic: string): RegExp {
  const escaped = topic.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^(?!${escaped}$)[\\s\\S]*?(?:${pattern.source})`, pattern.flags.replace(/[gy]/g, ""));
}

/**
 * kafkajs warns on every start that a bounded retry count "may invalidate EoS
 * guarantees" of an idempotent producer. Bounded on purpose (see
 * REPLICATION_PRODUCER): the engine retries the batch and the run stays stoppable.
 */
function withoutRetryLimitWarning(log: Logger): Logger {
  return {
    debug: (m, f) => log.debug(m, f),
    info: (m, f) => log.info(m, f),
    warn: (m, f) => (m.includes("Limiting retries for the idempotent producer") ? log.debug(m, f) : log.warn(m, f)),
    error: (m, f) => log.error(m, f),
    enabled: (level) => log.enabled(level),
    filePath: log.filePath,
    close: () => {},
  };
}
