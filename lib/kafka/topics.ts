/**
 * Topic helpers: creating a topic that is missing, and for replication,
 * partition counts, creating a missing destination topic like its source,
 * and refusing a destination that cannot keep the source's partitions.
 *
 * @example
 * const { created } = await ensureTopic(admin, "logins", { partitions: 3 });
 * const plan = await prepareDestinationTopics({
 *   source: sourceAdmin, destination: destAdmin, destinationName: "[local_kafka]",
 *   pairs: [{ source: "logins", destination: "remote.logins" }], needPartitions: true, log,
 * });
 * plan.maxMessageBytes; // smallest max.message.bytes of the destination topics
 */
import { ConfigResourceTypes, type Admin } from "kafkajs";
import type { Logger } from "../log/logger.ts";
import { partitionShortfall } from "./replication-rules.ts";

export interface EnsureTopicResult {
  created: boolean;
  partitions: number;
}

/**
 * Creates a topic when it does not exist yet, so a client never depends on
 * the broker's auto-creation (which would ignore the partition count).
 * Without `partitions` the broker's default count is used; `configEntries`
 * are topic configs for a topic it creates (an existing one is left as is).
 */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  options: { partitions?: number; timeoutMs?: number; configEntries?: { name: string; value: string }[] } = {},
): Promise<EnsureTopicResult> {
  if (!(await admin.listTopics()).includes(topic)) {
    // false means someone else created it between the two calls; also fine.
    const created = await admin.createTopics({
      topics: [{ topic, ...(options.partitions ? { numPartitions: options.partitions } : {}), ...(options.configEntries ? { configEntries: options.configEntries } : {}) }],
      waitForLeaders: true,
      timeout: options.timeoutMs ?? 10_000,
    });
    if (created && options.partitions) return { created: true, partitions: options.partitions };
    if (created) return { created: true, partitions: await partitionCount(admin, topic) };
  }
  return { created: false, partitions: await partitionCount(admin, topic) };
}

async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  return metadata.topics[0]?.partitions.length ?? 0;
}

/** Topic configs a created destination topic takes over from its source, when the source sets them. */
export const COPIED_TOPIC_CONFIGS = ["cleanup.policy", "retention.ms", "retention.bytes", "max.message.bytes", "min.compaction.lag.ms"] as const;

/** The broker default of max.message.bytes, used when a topic's cannot be read. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Kafka's ConfigSource TOPIC_CONFIG: set on the topic itself, not inherited. */
const TOPIC_CONFIG_SOURCE = 1;

export interface TopicPair {
  source: string;
  destination: string;
}

export interface PrepareDestinationOptions {
  source: Admin;
  destination: Admin;
  /** For messages, e.g. "[local_kafka]". */
  destinationName: string;
  pairs: TopicPair[];
  /** Under "preserve" partitioning every destination needs at least the source's partition count. */
  needPartitions: boolean;
  log: Logger;
}

export interface DestinationPlan {
  /** Destination topics created by this call. */
  created: string[];
  /** Partition count per destination topic. */
  partitions: Map<string, number>;
  /** The smallest max.message.bytes of the destination topics: one produce batch per partition must fit. */
  maxMessageBytes: number;
}

/** The destination cannot hold the source's partitions one to one. */
export class PartitionCountError extends Error {
  override name = "PartitionCountError";
}

/** Partition count of each topic. */
export async function partitionCounts(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (topics.length === 0) return counts;
  const metadata = await admin.fetchTopicMetadata({ topics });
  for (const topic of metadata.topics) counts.set(topic.name, topic.partitions.length);
  return counts;
}

/** Values of `names` that are set on the topic itself (not broker or built-in defaults). */
export async function topicOverrides(admin: Admin, topic: string, names: readonly string[]): Promise<{ name: string; value: string }[]> {
  const result = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [...names] }],
    includeSynonyms: false,
  });
  return (result.resources[0]?.configEntries ?? [])
    .filter((e) => !e.isDefault && e.configSource === TOPIC_CONFIG_SOURCE && e.configValue !== null)
    .map((e) => ({ name: e.configName, value: e.configValue }));
}

async function topicConfig(admin: Admin, topic: string, names: string[]): Promise<Map<string, string>> {
  const result = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
    includeSynonyms: false,
  });
  return new Map((result.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
}

/**
 * Checks every existing destination topic first (so a refusal happens before
 * anything is created or copied), then creates the missing ones with their
 * source's partition count and topic-level configs.
 */
export async function prepareDestinationTopics(options: PrepareDestinationOptions): Promise<DestinationPlan> {
  const { source, destination, pairs, log } = options;
  const sourceCounts = await partitionCounts(source, [...new Set(pairs.map((p) => p.source))]);
  const existing = new Set(await destination.listTopics());
  const present = pairs.filter((p) => existing.has(p.destination));
  const missing = pairs.filter((p) => !existing.has(p.destination));
  const partitions = await partitionCounts(destination, [...new Set(present.map((p) => p.destination))]);

  if (options.needPartitions) {
    for (const pair of present) {
      const shortfall = partitionShortfall({
        ...pair,
        destinationName: options.destinationName,
        have: partitions.get(pair.destination) ?? 0,
        need: sourceCounts.get(pair.source) ?? 0,
      });
      if (shortfall) throw new PartitionCountError(shortfall);
    }
  }

  const created: string[] = [];
  for (const pair of missing) {
    if (partitions.has(pair.destination)) continue; // two sources, one destination: created already
    const numPartitions = sourceCounts.get(pair.source) ?? 1;
    const configEntries = await topicOverrides(source, pair.source, COPIED_TOPIC_CONFIGS);
    const made = await destination.createTopics({
      topics: [{ topic: pair.destination, numPartitions, configEntries }],
      waitForLeaders: true,
    });
    if (made) {
      created.push(pair.destination);
      log.info("created destination topic", {
        topic: pair.destination,
        partitions: numPartitions,
        like: pair.source,
        ...(configEntries.length ? { configs: Object.fromEntries(configEntries.map((c) => [c.name, c.value])) } : {}),
      });
    }
    // Created meanwhile by someone else: take what is there, and check it like any existing topic.
    const count = made ? numPartitions : ((await partitionCounts(destination, [pair.destination])).get(pair.destination) ?? 0);
    const shortfall = options.needPartitions
      ? partitionShortfall({ ...pair, destinationName: options.destinationName, have: count, need: numPartitions, createdMeanwhile: true })
      : undefined;
    if (shortfall) throw new PartitionCountError(shortfall);
    partitions.set(pair.destination, count);
  }

  let maxMessageBytes = Number.POSITIVE_INFINITY;
  for (const topic of partitions.keys()) {
    const config = await topicConfig(destination, topic, ["max.message.bytes", "message.timestamp.type"]);
    const limit = Number(config.get("max.message.bytes") ?? DEFAULT_MAX_MESSAGE_BYTES);
    if (Number.isFinite(limit) && limit > 0) maxMessageBytes = Math.min(maxMessageBytes, limit);
    if (config.get("message.timestamp.type") === "LogAppendTime") {
      log.warn("destination topic uses LogAppendTime: copies get the destination's append time, not the source timestamp", { topic });
    }
  }
  return { created, partitions, maxMessageBytes: Number.isFinite(maxMessageBytes) ? maxMessageBytes : DEFAULT_MAX_MESSAGE_BYTES };
}

/** Checks, before a send, that a destination topic has the partition a copy is for. */
export interface PartitionGuard {
  /** Resolves if `topic` has `partition`; throws PartitionCountError otherwise. */
  ensure(topic: string, partition: number): Promise<void>;
}

/**
 * The guard --partitioning preserve needs: kafkajs drops a message for a
 * partition missing from its metadata without any error, so a source topic
 * that gains partitions mid-run would have its new partitions' messages
 * counted as copied and committed. Known counts answer at once; a higher
 * partition is checked against the broker once, then refused.
 */
export function destinationPartitionGuard(admin: Admin, counts: Map<string, number>, destinationName: string): PartitionGuard {
  return {
    async ensure(topic, partition) {
      if (partition < (counts.get(topic) ?? 0)) return;
      const count = (await partitionCounts(admin, [topic])).get(topic) ?? 0;
      counts.set(topic, count);
      if (partition < count) return;
      throw new PartitionCountError(
        `destination topic '${topic}' on ${destinationName} has ${count} partition(s); source partition ${partition} has no counterpart ` +
          `(the source gained partitions?): add partitions to the destination, or use --partitioning key`,
      );
    },
  };
}
