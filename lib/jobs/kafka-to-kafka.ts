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
 *   groupId: "replicator", partitioning: "preserve", provenance: "cluster", compression: "none",
 *   dlqTopic: "logins.dlq", fromBeginning: false,
 *   run: { onError: "dlq", batchSize: 2000, logInterval: 10000, untilCaughtUp: true, log, signal } });
 *
 * With run.commitStrategy "transaction" (both sections on one cluster), the
 * copies and the group's offsets are committed in one Kafka transaction per
 * chunk: exactly once for read_committed readers (see sinks/kafka-transactional.ts).
 */
import type { Admin } from "kafkajs";
import { compressionType } from "../kafka/codecs.ts";
import type { CompressionName } from "../kafka/compression-names.ts";
import type { KafkaSection } from "../config/kafka-section.ts";
import type { DeadLetterTopic } from "../engine/dead-letter.ts";
import { openDeadLetterTopic } from "../sinks/dead-letter-topic.ts";
import type { AvroDecoder } from "../avro/decoder.ts";
import { avroValueCheck } from "../processors/avro-check.ts";
import type { EngineEvents } from "../engine/events.ts";
import { runPipeline, type PipelineSummary, type RunSettings } from "../engine/pipeline.ts";
import type { Sink, TransactionalSink } from "../engine/sink.ts";
import type { Source } from "../engine/source.ts";
import { errorMessage, UsageError } from "../errors.ts";
import { createKafka, describeKafka } from "../kafka/client.ts";
import { destinationPartitionGuard, prepareDestinationTopics, type TopicPair } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";
import { excluding, refuseDeadLetterSource, refuseSelfReplication } from "../kafka/replication-rules.ts";
import { replicateProcessor, type Partitioning, type Provenance, type ReplicaMessage } from "../processors/replicate.ts";
import { kafkaSink, REPLICATION_PRODUCER } from "../sinks/kafka.ts";
import { transactionalKafkaSink } from "../sinks/kafka-transactional.ts";
import { openKafkaSource } from "../sources/kafka.ts";
import { startFailover, type Failover } from "../replication/failover.ts";
import type { GroupSyncRow } from "../replication/group-sync.ts";
import type { ReplayWindow } from "../kafka/replay-window.ts";


export interface KafkaToKafkaOptions {
  run: RunSettings;
  /** Instrumentation (metrics); see lib/engine/events.ts. */
  events?: EngineEvents;
  from: KafkaSection;
  to: KafkaSection;
  /** Source topics, or a pattern matched against the source's topics at start. */
  topics: string[] | RegExp;
  /** Source topic → destination topic (see destinationNaming). */
  destinationTopic: (sourceTopic: string) => string;
  groupId: string;
  partitioning: Partitioning;
  /** What each copy says about its origin; see replicate.ts. */
  provenance: Provenance;
  compression: CompressionName;
  /** Dead-letter topic on the source cluster; required when onError is "dlq". */
  dlqTopic?: string;
  fromBeginning: boolean;
  /** --from-time/--to-time: replay only this window, then stop. */
  window?: ReplayWindow;
  /** Dead-letter values that do not decode as Avro with this decoder (the copies stay byte-exact). */
  checkSchema?: AvroDecoder;
  /** The offset-syncs topic (on both clusters); absent: no offset syncs and no two-way check. */
  offsetSyncsTopic?: string;
  /** Source groups whose committed offsets are translated to the destination (needs offsetSyncsTopic). */
  syncGroups?: RegExp;
  /** Between group syncs, ms. */
  syncIntervalMs?: number;
}

export interface KafkaToKafkaResult {
  summary: PipelineSummary;
  sourceCluster: string;
  destinationCluster: string;
  pairs: TopicPair[];
  /** Destination topics this run created. */
  created: string[];
  /** The last group sync's rows, when groups are synced. */
  groupSync?: GroupSyncRow[];
  /** The run's last offset or group sync failed (the copies are fine). */
  syncError?: Error;
}

/** Largest produce request the sink builds, whatever the destination allows. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export async function kafkaToKafka(options: KafkaToKafkaOptions): Promise<KafkaToKafkaResult> {
  const { log } = options.run;
  const sourceKafka = createKafka(options.from, log);
  const destinationKafka = createKafka(options.to, withoutRetryLimitWarning(log));
  const sourceAdmin = sourceKafka.admin();
  const destinationAdmin = destinationKafka.admin();
  let source: Source | undefined;
  let sink: Sink<ReplicaMessage> | TransactionalSink<ReplicaMessage> | undefined;
  let deadLetters: DeadLetterTopic | undefined;
  let failover: Failover | undefined;
  try {
    const sourceCluster = await connect(sourceAdmin, options.from, "source");
    const destinationCluster = await connect(destinationAdmin, options.to, "destination");
    log.info("clusters", { source: `${options.from.name} ${sourceCluster}`, destination: `${options.to.name} ${destinationCluster}` });

    const sameCluster = sourceCluster === destinationCluster;
    const transactional = options.run.commitStrategy === "transaction";
    if (transactional && !sameCluster) {
      throw new UsageError(
        `--commit transaction needs --from and --to on one cluster (the group's offsets are committed in the destination's ` +
          `transactions); [${options.from.name}] is ${sourceCluster}, [${options.to.name}] is ${destinationCluster}`,
      );
    }
    // Named topics are checked before the group is touched; a pattern once it is resolved.
    const clusters = { from: options.from.name, to: options.to.name, clusterId: sourceCluster, sameCluster };
    if (Array.isArray(options.topics)) refuseSelfReplication(options.topics, options.destinationTopic, clusters);
    // Offset syncs and the two-way check, with the pairs known (named topics: before the group is touched).
    const startSyncs = async (pairs: TopicPair[]) => {
      if (options.offsetSyncsTopic === undefined) return undefined;
      if (transactional || options.partitioning !== "preserve") {
        // Offsets translate partition to partition; one cluster needs no failover.
        if (options.syncGroups) throw new UsageError("--sync-groups needs --partitioning preserve and --commit offsets");
        return undefined;
      }
      return startFailover({
        source: { kafka: sourceKafka, admin: sourceAdmin, cluster: sourceCluster, name: options.from.name },
        destination: { kafka: destinationKafka, admin: destinationAdmin, cluster: destinationCluster, name: options.to.name },
        topic: options.offsetSyncsTopic,
        provenance: options.provenance,
        pairs,
        syncGroups: options.syncGroups,
        syncIntervalMs: options.syncIntervalMs ?? 60_000,
        ownGroup: options.groupId,
        log,
        signal: options.run.signal,
      });
    };
    const pairsOf = (topics: string[]) => topics.map((topic) => ({ source: topic, destination: options.destinationTopic(topic) }));
    if (Array.isArray(options.topics)) failover = await startSyncs(pairsOf(options.topics));

    // A pattern never reads the dead-letter topic or the offset syncs (MirrorMaker 2 skips its internal topics too).
    let topics = options.topics;
    if (topics instanceof RegExp && options.run.onError === "dlq" && options.dlqTopic) topics = excluding(topics, options.dlqTopic);
    if (topics instanceof RegExp && options.offsetSyncsTopic) topics = excluding(topics, options.offsetSyncsTopic);
    source = await openKafkaSource({
      kafka: sourceKafka,
      groupId: options.groupId,
      topics,
      resetToEarliest: options.fromBeginning,
      window: options.window,
      log,
      name: `kafka [${options.from.name}]`,
    });
    const pairs = pairsOf(source.topics);
    if (!Array.isArray(options.topics)) failover = await startSyncs(pairs);
    refuseSelfReplication(source.topics, options.destinationTopic, clusters);
    if (options.run.onError === "dlq") refuseDeadLetterSource(source.topics, options.dlqTopic);

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

    const sinkSettings = {
      name: `kafka [${options.to.name}]`,
      compression: compressionType(options.compression),
      maxBatchBytes: Math.min(MAX_REQUEST_BYTES, plan.maxMessageBytes),
    };
    if (transactional) {
      sink = transactionalKafkaSink({ ...sinkSettings, kafka: destinationKafka, transactionalIdPrefix: `kafka2kafka.${options.groupId}` });
    } else {
      const producer = destinationKafka.producer(REPLICATION_PRODUCER);
      await producer.connect();
      sink = kafkaSink({
        ...sinkSettings,
        producer,
        partitions:
          options.partitioning === "preserve" ? destinationPartitionGuard(destinationAdmin, new Map(plan.partitions), `[${options.to.name}]`) : undefined,
        onAcknowledged: failover?.onAcknowledged,
      });
    }
    if (options.run.onError === "dlq") {
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
      events: options.events,
      ...options.run,
      // One write at a time: a later chunk of a partition must never land before an earlier one.
      sinkConcurrency: 1,
    });
    const result: KafkaToKafkaResult = { summary, sourceCluster, destinationCluster, pairs, created: plan.created };
    // Caught up, --max-messages or a signal: the last copies' syncs and group offsets before exiting.
    if (failover) {
      try {
        result.groupSync = await failover.finish();
      } catch (error) {
        result.syncError = new Error(`the last offset sync failed: ${errorMessage(error)}`, { cause: error });
      }
    }
    return result;
  } finally {
    const closeFailed = (what: string) => (error: unknown) => log.warn(`closing ${what} failed`, { error: errorMessage(error) });
    await failover?.close().catch(closeFailed("the offset-syncs producer"));
    await source?.close().catch(closeFailed("the consumer"));
    await sink?.close().catch(closeFailed("the producer"));
    await deadLetters?.close().catch(closeFailed("the dead-letter producer"));
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
    // A failed login already says what to check (client.ts).
    throw new Error(`cannot connect to the ${side} ${describeKafka(section)}: ${errorMessage(error)}`, { cause: error });
  }
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
