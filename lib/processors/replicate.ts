/**
 * The replication processor: turns a source record into the message to
 * produce on the destination cluster, byte for byte.
 *
 * Key, value and header values stay the Buffers the consumer decoded; the
 * timestamp stays the source's. Nothing is decoded or re-encoded. Optional
 * provenance headers (x-source-cluster, -topic, -partition, -offset) are
 * appended after the record's own headers; a record that already carries them
 * (an earlier hop) keeps those values and gets this hop's appended, so the
 * headers hold the whole path.
 *
 * Loop prevention: a record whose x-source-cluster header names the
 * destination cluster came from there, and is skipped. Clusters are named by
 * their cluster id (admin.describeCluster()), which does not depend on the
 * section name or listener used to reach them.
 *
 * @example
 * const toReplica = replicateProcessor({
 *   sourceCluster: "x7BaTkhiuHgMlSDolJeXNw", destinationCluster: "Q1w2...", partitioning: "preserve",
 *   provenance: true, destinationTopic: (t) => `remote.${t}`,
 * });
 * toReplica(record); // { kind: "write", item: { topic: "remote.logins", partition: 2, key, value, headers, timestamp } }
 */
import { UsageError } from "../errors.ts";
import type { Outcome, Processor, RecordHeaders, SourceRecord } from "../engine/record.ts";
import type { KafkaOutput } from "../sinks/kafka.ts";

export type Partitioning = "preserve" | "key";

/** Header names of a copy's provenance; the last three match the dead-letter headers. */
export const PROVENANCE_HEADERS = {
  cluster: "x-source-cluster",
  topic: "x-source-topic",
  partition: "x-source-partition",
  offset: "x-source-offset",
} as const;

/** One message for the destination: the source's bytes, partition under "preserve", and timestamp. */
export type ReplicaMessage = KafkaOutput & { timestamp: string };

export interface ReplicateOptions {
  /** Cluster id of the source, written into x-source-cluster. */
  sourceCluster: string;
  /** Cluster id of the destination; records that came from it are skipped. */
  destinationCluster: string;
  partitioning: Partitioning;
  provenance: boolean;
  /** Source topic → destination topic. */
  destinationTopic: (sourceTopic: string) => string;
}

export function replicateProcessor(options: ReplicateOptions): Processor<ReplicaMessage> {
  return (record) => replicate(record, options);
}

export function replicate(record: SourceRecord, options: ReplicateOptions): Outcome<ReplicaMessage> {
  if (cameFrom(record.headers, options.destinationCluster)) {
    return { kind: "skip", reason: `already replicated from the destination cluster ${options.destinationCluster}` };
  }
  const nullHeader = nullValuedHeader(record.headers);
  if (nullHeader !== undefined) {
    // kafkajs decodes a null header value but cannot produce one (Buffer.byteLength(null) throws).
    return { kind: "dead", reason: `header '${nullHeader}' has a null value, which kafkajs cannot produce`, stage: "process" };
  }
  const message: ReplicaMessage = {
    topic: options.destinationTopic(record.topic),
    key: record.key,
    value: record.value,
    headers: options.provenance ? withProvenance(record, options.sourceCluster) : record.headers,
    timestamp: record.timestamp,
  };
  if (options.partitioning === "preserve") message.partition = record.partition;
  return { kind: "write", item: message };
}

/** True if any x-source-cluster value of the headers is `clusterId`. */
export function cameFrom(headers: RecordHeaders, clusterId: string): boolean {
  const value = headers[PROVENANCE_HEADERS.cluster];
  if (value === undefined || value === null) return false;
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => v !== null && v !== undefined && v.toString() === clusterId);
}

function nullValuedHeader(headers: RecordHeaders): string | undefined {
  for (const name in headers) {
    const value: unknown = headers[name];
    if (value === null || (Array.isArray(value) && value.includes(null))) return name;
  }
  return undefined;
}

/** The record's headers plus this hop's provenance, appended after any earlier hop's. */
export function withProvenance(record: SourceRecord, sourceCluster: string): RecordHeaders {
  const headers: RecordHeaders = { ...record.headers };
  const add = (name: string, text: string) => {
    const value = Buffer.from(text);
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else headers[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  };
  add(PROVENANCE_HEADERS.cluster, sourceCluster);
  add(PROVENANCE_HEADERS.topic, record.topic);
  add(PROVENANCE_HEADERS.partition, String(record.partition));
  add(PROVENANCE_HEADERS.offset, record.offset);
  return headers;
}

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

/**
 * Source → destination pairs that would write into the topic being read:
 * the same cluster and the same name. Empty when the clusters differ.
 */
export function selfReplications(
  topics: string[],
  destinationTopic: (sourceTopic: string) => string,
  sameCluster: boolean,
): string[] {
  return sameCluster ? topics.filter((t) => destinationTopic(t) === t) : [];
}
