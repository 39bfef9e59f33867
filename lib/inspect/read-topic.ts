/**
 * Reads a topic from its earliest offset to the end it had when the read
 * started, then stops (like `kcat -e`). Nothing is committed (a throwaway
 * group, deleted after; see read-partitions.ts, which does the reading).
 * A read that makes no progress for `idleTimeoutMs` stops and says which
 * partitions did not reach their end, so it never hangs.
 *
 * @example
 * const result = await readTopicToEnd(kafka, "logins", {
 *   onMessages: (partition, messages) => messages.forEach((m) => stats.add(partition, m)),
 *   idleTimeoutMs: 30_000, log, signal: ctx.signal,
 * });
 * result.complete; // true when every partition reached its end offset
 */
import type { Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "../log/logger.ts";
import { readPartitions } from "./read-partitions.ts";

export interface PartitionRange {
  partition: number;
  /** First offset still in the log (the log start offset). */
  earliest: number;
  /** Offset of the next message when the read started (the high watermark). */
  end: number;
  reached: boolean;
}

export interface ReadTopicResult {
  partitions: PartitionRange[];
  complete: boolean;
  /** Why an incomplete read stopped. */
  stoppedBy?: "idle" | "signal" | "crash";
}

export interface ReadTopicOptions {
  /** Awaited when it returns a promise, so a consumer may load what it needs (Avro schemas) first. */
  onMessages: (partition: number, messages: KafkaMessage[]) => unknown;
  idleTimeoutMs: number;
  log: Logger;
  signal?: AbortSignal;
  /** Prefix of the throwaway consumer group, to recognise it in group listings. */
  groupPrefix?: string;
}

/** The topic to read does not exist; reading would let the broker auto-create it. */
export class TopicNotFoundError extends Error {
  override name = "TopicNotFoundError";
  constructor(readonly topic: string) {
    super(`topic '${topic}' does not exist`);
  }
}

export async function readTopicToEnd(kafka: Kafka, topic: string, options: ReadTopicOptions): Promise<ReadTopicResult> {
  const admin = kafka.admin();
  await admin.connect();
  let bounds: { partition: number; earliest: number; end: number }[];
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new TopicNotFoundError(topic);
    bounds = (await admin.fetchTopicOffsets(topic)).map((o) => ({ partition: o.partition, earliest: Number(o.low), end: Number(o.high) }));
  } finally {
    await admin.disconnect();
  }
  const read = await readPartitions(kafka, topic, {
    ranges: bounds.map((b) => ({ partition: b.partition, start: BigInt(b.earliest), end: BigInt(b.end) })),
    onMessages: options.onMessages,
    idleTimeoutMs: options.idleTimeoutMs,
    log: options.log,
    signal: options.signal,
    groupPrefix: options.groupPrefix,
  });
  const partitions = bounds
    .map((b) => ({ ...b, reached: read.partitions.find((p) => p.partition === b.partition)?.reached ?? false }))
    .sort((a, b) => a.partition - b.partition);
  return read.complete ? { partitions, complete: true } : { partitions, complete: false, stoppedBy: read.stoppedBy === "handler" ? undefined : read.stoppedBy };
}
