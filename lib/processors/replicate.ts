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
import { cameFrom, SOURCE_CLUSTER_HEADER } from "../kafka/replication-rules.ts";
import type { Outcome, Processor, RecordHeaders, SourceRecord } from "../engine/record.ts";
import type { KafkaOutput } from "../sinks/kafka.ts";

export type Partitioning = "preserve" | "key";

/** Header names of a copy's provenance; the last three match the dead-letter headers. */
export const PROVENANCE_HEADERS = {
  cluster: SOURCE_CLUSTER_HEADER,
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
