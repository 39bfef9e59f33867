/**
 * The replication processor: turns a source record into the message to
 * produce on the destination cluster, byte for byte.
 *
 * Key, value and header values stay the Buffers the consumer decoded; the
 * timestamp stays the source's. Nothing is decoded or re-encoded. Headers
 * keep their order, repeated names and null values (the record's headerList,
 * which the patched kafkajs writes back as is). Provenance headers are
 * appended after the record's own: x-source-cluster by default, plus
 * x-source-topic, -partition and -offset with "full"; a record that already
 * carries them (an earlier hop) keeps those values and gets this hop's
 * appended, so the headers hold the whole path.
 *
 * Loop prevention: a record whose x-source-cluster header names the
 * destination cluster came from there, and is skipped. Clusters are named by
 * their cluster id (admin.describeCluster()), which does not depend on the
 * section name or listener used to reach them.
 *
 * @example
 * const toReplica = replicateProcessor({
 *   sourceCluster: "x7BaTkhiuHgMlSDolJeXNw", destinationCluster: "Q1w2...", partitioning: "preserve",
 *   provenance: "cluster", destinationTopic: (t) => `remote.${t}`,
 * });
 * toReplica(record); // { kind: "write", item: { topic: "remote.logins", partition: 2, key, value, headers, timestamp } }
 */
import { cameFrom, SOURCE_CLUSTER_HEADER } from "../kafka/replication-rules.ts";
import type { HeaderEntry, Outcome, Processor, RecordHeaders, SourceRecord } from "../engine/record.ts";
import type { KafkaOutput } from "../sinks/kafka.ts";

export type Partitioning = "preserve" | "key";

/** Header names of a copy's provenance; the last three match the dead-letter headers. */
export const PROVENANCE_HEADERS = {
  cluster: SOURCE_CLUSTER_HEADER,
  topic: "x-source-topic",
  partition: "x-source-partition",
  offset: "x-source-offset",
} as const;

/**
 * One message for the destination: the source's bytes, partition under
 * "preserve", and timestamp; and where it came from, for offset syncs
 * (kafkajs ignores the extra fields).
 */
export type ReplicaMessage = KafkaOutput & { timestamp: string; sourceTopic: string; sourceOffset: string };

/**
 * What a copy says about where it came from. "cluster" (the default) writes
 * x-source-cluster only, which is what loop prevention reads; "full" adds
 * topic, partition and offset (--provenance-headers); "none" writes nothing
 * (--no-provenance, one-way setups only).
 */
export type Provenance = "none" | "cluster" | "full";

export interface ReplicateOptions {
  /** Cluster id of the source, written into x-source-cluster. */
  sourceCluster: string;
  /** Cluster id of the destination; records that came from it are skipped. */
  destinationCluster: string;
  partitioning: Partitioning;
  provenance: Provenance;
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
  const added = provenanceHeaders(record, options.sourceCluster, options.provenance);
  const message: ReplicaMessage = {
    topic: options.destinationTopic(record.topic),
    key: record.key,
    value: record.value,
    headers: added.length ? appendHeaders(record.headers, added) : record.headers,
    timestamp: record.timestamp,
    sourceTopic: record.topic,
    sourceOffset: record.offset,
  };
  // The headers as written, in order, null values included, then this hop's.
  if (record.headerList) message.headerList = added.length ? [...record.headerList, ...added] : record.headerList;
  if (options.partitioning === "preserve") message.partition = record.partition;
  return { kind: "write", item: message };
}

/** This hop's provenance headers, to append after the record's own (and any earlier hop's). */
export function provenanceHeaders(record: SourceRecord, sourceCluster: string, provenance: Provenance): HeaderEntry[] {
  if (provenance === "none") return [];
  const cluster = { key: PROVENANCE_HEADERS.cluster, value: Buffer.from(sourceCluster) };
  if (provenance === "cluster") return [cluster];
  return [
    cluster,
    { key: PROVENANCE_HEADERS.topic, value: Buffer.from(record.topic) },
    { key: PROVENANCE_HEADERS.partition, value: Buffer.from(String(record.partition)) },
    { key: PROVENANCE_HEADERS.offset, value: Buffer.from(record.offset) },
  ];
}

/** The headers object with `entries` appended: a name already present gets a list of its values. */
export function appendHeaders(headers: RecordHeaders, entries: readonly HeaderEntry[]): RecordHeaders {
  const result: RecordHeaders = { ...headers };
  for (const { key, value } of entries) {
    const name = key.toString();
    const existing = result[name];
    const v = value as Buffer | string;
    if (existing === undefined) result[name] = v;
    else result[name] = Array.isArray(existing) ? [...existing, v] : [existing, v];
  }
  return result;
}
