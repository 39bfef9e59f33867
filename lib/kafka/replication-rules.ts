/**
 * kafka2kafka's topic rules in one place, as pure functions: how destination
 * topics are named, which source topics are read (never the dead-letter
 * topic), what may not be copied onto itself, when a destination's partition
 * count will not do, and which records are loops. The tool, the job, the
 * processor and topics.ts ask here; the tests check here.
 *
 * @example
 * const destinationTopic = destinationNaming(["logins"], { prefix: "remote." }); // (t) => "remote." + t
 * refuseSelfReplication(["logins"], destinationTopic, { sameCluster: false, ... }); // fine
 * partitionShortfall({ source: "logins", destination: "remote.logins", have: 3, need: 6, ... }); // an error message
 */
import { UsageError } from "../errors.ts";

export interface NamingOptions {
  /** The destination of the one source topic. */
  destTopic?: string;
  /** Put before every source topic's name. */
  prefix?: string;
}

/**
 * How source topics are named on the destination: --dest-topic for a single
 * named topic, else --prefix + the source name (the same name by default).
 * Throws a UsageError for combinations that cannot work.
 */
export function destinationNaming(topics: string[] | RegExp, naming: NamingOptions): (sourceTopic: string) => string {
  if (naming.destTopic !== undefined && naming.prefix !== undefined) {
    throw new UsageError("--dest-topic and --prefix cannot be used together");
  }
  if (naming.destTopic !== undefined) {
    if (topics instanceof RegExp || topics.length !== 1) {
      throw new UsageError("--dest-topic needs exactly one --topic; use --prefix to name several");
    }
    if (naming.destTopic.trim() === "") throw new UsageError("--dest-topic must not be empty");
    const destTopic = naming.destTopic;
    return () => destTopic;
  }
  const prefix = naming.prefix ?? "";
  return (sourceTopic) => `${prefix}${sourceTopic}`;
}

/** The dead-letter topic when --dlq-topic is not given: next to the one source topic, or shared. */
export function defaultDeadLetterTopic(topics: string[] | RegExp): string {
  return Array.isArray(topics) && topics.length === 1 ? `${topics[0]}.dlq` : "kafka2kafka.dlq";
}

/** The pattern, minus one exact topic name (the dead-letter topic must not be replicated). */
export function excluding(pattern: RegExp, topic: string): RegExp {
  const escaped = topic.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^(?!${escaped}$)[\\s\\S]*?(?:${pattern.source})`, pattern.flags.replace(/[gy]/g, ""));
}

/**
 * Source → destination pairs that would write into the topic being read:
 * the same cluster and the same name. Empty when the clusters differ.
 */
export function selfReplications(topics: string[], destinationTopic: (sourceTopic: string) => string, sameCluster: boolean): string[] {
  return sameCluster ? topics.filter((t) => destinationTopic(t) === t) : [];
}

export interface ClusterPair {
  from: string;
  to: string;
  /** The cluster id, when both sections reach one cluster. */
  clusterId: string;
  sameCluster: boolean;
}

/** Refuses copying a topic onto itself, naming the sections and the way out. */
export function refuseSelfReplication(topics: string[], destinationTopic: (sourceTopic: string) => string, clusters: ClusterPair): void {
  const onItself = selfReplications(topics, destinationTopic, clusters.sameCluster);
  if (onItself.length) {
    throw new UsageError(
      `--from [${clusters.from}] and --to [${clusters.to}] are the same cluster (${clusters.clusterId}): ` +
        `topic '${onItself[0]}' would be copied onto itself; name the copies with --prefix or --dest-topic`,
    );
  }
}

/** Refuses a dead-letter topic that is also read: its letters would be copied, and fail again. */
export function refuseDeadLetterSource(sourceTopics: string[], deadLetterTopic: string | undefined): void {
  if (deadLetterTopic !== undefined && sourceTopics.includes(deadLetterTopic)) {
    throw new UsageError(`the dead-letter topic '${deadLetterTopic}' is also a source topic; choose another --dlq-topic`);
  }
}

export interface PartitionCheck {
  source: string;
  destination: string;
  /** For messages, e.g. "[local_kafka]". */
  destinationName: string;
  have: number;
  need: number;
  /** The destination was created by someone else while this run prepared it. */
  createdMeanwhile?: boolean;
}

/**
 * Under --partitioning preserve every source partition is copied to the same
 * partition number: the destination needs at least as many. Returns why not,
 * or undefined when it has enough.
 */
export function partitionShortfall(check: PartitionCheck): string | undefined {
  if (check.have >= check.need) return undefined;
  if (check.createdMeanwhile) {
    return (
      `destination topic '${check.destination}' on ${check.destinationName} was created meanwhile with ${check.have} partition(s), ` +
      `fewer than the ${check.need} of source topic '${check.source}'`
    );
  }
  return (
    `destination topic '${check.destination}' on ${check.destinationName} has ${check.have} partition(s), fewer than the ${check.need} of ` +
    `source topic '${check.source}'; --partitioning preserve copies partition to partition ` +
    `(add partitions to the destination, or use --partitioning key)`
  );
}

/** Provenance header naming the cluster a copy came from; loop prevention reads it. */
export const SOURCE_CLUSTER_HEADER = "x-source-cluster";

/** Loop rule: true if any x-source-cluster value of the headers is `clusterId` (the record came from there). */
export function cameFrom(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>, clusterId: string): boolean {
  const value = headers[SOURCE_CLUSTER_HEADER];
  if (value === undefined || value === null) return false;
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => v !== null && v !== undefined && v.toString() === clusterId);
}

/** The offset-syncs topic's name on every cluster, unless --offset-syncs-topic says otherwise. */
export const DEFAULT_OFFSET_SYNCS_TOPIC = "kafka2kafka.offset-syncs.internal";

/** A flow recorded in a cluster's offset-syncs topic: a topic of another cluster copied into `target` there. */
export interface RecordedFlow {
  /** Cluster id the flow copies from. */
  cluster: string;
  topic: string;
  target: string;
  /** "none", "cluster" or "full" (see processors/replicate.ts). */
  provenance: string;
}

/**
 * Two-way rule: the flows recorded on the source cluster that copy back from
 * the destination cluster, out of a topic this run writes, into a topic it
 * reads. Such a pair loops unless both directions write x-source-cluster:
 * returns why it cannot be protected, or undefined.
 */
export function unprotectedTwoWay(
  pairs: { source: string; destination: string }[],
  flowsIntoSource: RecordedFlow[],
  clusters: { destination: string; provenance: string; from: string; to: string },
): string | undefined {
  for (const pair of pairs) {
    const back = flowsIntoSource.find((f) => f.cluster === clusters.destination && f.topic === pair.destination && f.target === pair.source);
    if (!back) continue;
    const loop = `[${clusters.to}] topic '${pair.destination}' is copied back into '${pair.source}' on [${clusters.from}]`;
    if (clusters.provenance === "none") {
      return `--no-provenance cannot protect a two-way setup: ${loop}, and copies without x-source-cluster would go around again; drop --no-provenance`;
    }
    if (back.provenance === "none") {
      return `${loop} by a run with --no-provenance, so copies would go around again; run that direction without --no-provenance`;
    }
  }
  return undefined;
}
