/**
 * A Kafka cluster as a pipeline sink: the replica messages of a chunk go out
 * through an idempotent producer with acks=all, in as few produce requests as
 * the destination's max.message.bytes allows, and write() resolves only after
 * every one of them is acknowledged (so the engine commits only copied offsets).
 *
 * Duplicates cannot be seen from here: at-least-once redelivery after a crash
 * copies a message again, and the destination has no key to refuse it on, so
 * `duplicates` is always 0. Within one run, a batch retried after a transient
 * failure skips the messages a previous attempt already got acknowledged.
 *
 * A message the destination refuses as too large is reported as rejected (it
 * goes to the dead-letter topic); outages are transient (the engine waits them
 * out); any other refusal (authorization, ...) stops the run.
 *
 * @example
 * const producer = kafka.producer(REPLICATION_PRODUCER);
 * await producer.connect();
 * const sink = kafkaSink({ producer, name: "kafka [local_kafka]", compression: CompressionTypes.None, maxBatchBytes: 1_048_588 });
 * await sink.write(replicaMessages); // { written: n, duplicates: 0, rejected: [] }
 */
import { Partitioners, type CompressionTypes, type Message, type Producer, type ProducerConfig, type RecordMetadata, type TopicMessages } from "kafkajs";
import type { HeaderEntry, RecordHeaders } from "../engine/record.ts";
import { TransientSinkError, type Sink, type SinkResult } from "../engine/sink.ts";
import type { PartitionGuard } from "../kafka/topics.ts";
import { errorMessage } from "../errors.ts";
import { isRetriableKafkaError } from "../kafka/errors.ts";

/**
 * One message for a Kafka sink. Each names its own topic, so one chunk's
 * items may go to several topics (a job's processed, errors and summary
 * topics) in one write, or in one transaction.
 */
export interface KafkaOutput {
  topic: string;
  /** Absent: the producer's partitioner chooses by key. */
  partition?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: RecordHeaders;
  /** When set, the headers written, in this order (the patched kafkajs then ignores `headers`). */
  headerList?: readonly HeaderEntry[];
  /** Milliseconds since the epoch; absent: the broker's time of append. */
  timestamp?: string;
}

/**
 * Producer settings for replication. kafkajs' idempotent producer needs
 * acks=-1 on every send and at most one request in flight per broker (it
 * numbers batches itself). Retries are bounded so an outage surfaces to the
 * engine, which retries the whole batch and can be stopped meanwhile.
 */
export const REPLICATION_PRODUCER: ProducerConfig = {
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
  retry: { retries: 5 },
};

/** Bytes of a record batch's header (magic v2). */
const BATCH_OVERHEAD = 61;
const TOO_LARGE = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE"]);

export interface KafkaSinkOptions<T extends KafkaOutput = KafkaOutput> {
  producer: Producer;
  name: string;
  compression: CompressionTypes;
  /** Largest record batch per produce request, in bytes: the destination topics' max.message.bytes. */
  maxBatchBytes: number;
  /** How long the broker may take to acknowledge, ms. */
  timeoutMs?: number;
  /** With explicit partitions (--partitioning preserve): refuses a batch for a partition the destination lacks. */
  partitions?: PartitionGuard;
  /**
   * Called once per acknowledged send, in order, with the messages that named
   * their partition and the offsets the destination gave them (offset syncs).
   */
  onAcknowledged?: (batches: AcknowledgedBatch<T>[]) => void;
}

export function kafkaSink<T extends KafkaOutput>(options: KafkaSinkOptions<T>): Sink<T> {
  // Messages acknowledged by an attempt that then failed: the engine retries
  // the same items, and these need not go out again.
  let acknowledged: WeakSet<T> | undefined;

  const send = async (messages: T[]) => {
    const metadata = await options.producer.sendBatch({
      acks: -1,
      compression: options.compression,
      timeout: options.timeoutMs ?? 30_000,
      topicMessages: byTopic(messages),
    });
    options.onAcknowledged?.(acknowledgedBatches(messages, metadata));
  };

  /** Sends `indices` of `items`; a too-large refusal is split until the one message is found. */
  const sendGroup = async (items: T[], indices: number[], result: SinkResult, done: T[]) => {
    try {
      await send(indices.map((i) => items[i]!));
      for (const i of indices) done.push(items[i]!);
      result.written += indices.length;
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (type !== undefined && TOO_LARGE.has(type)) {
        if (indices.length === 1) {
          const item = items[indices[0]!]!;
          result.rejected.push({
            index: indices[0]!,
            reason: `${options.name} refused the message as too large (${type}, ~${estimateBytes(item)} bytes)`,
          });
          return;
        }
        const middle = Math.ceil(indices.length / 2);
        await sendGroup(items, indices.slice(0, middle), result, done);
        await sendGroup(items, indices.slice(middle), result, done);
        return;
      }
      throw error;
    }
  };

  return {
    name: options.name,
    async write(items) {
      if (options.partitions) await checkPartitions(items, options.partitions);
      const result: SinkResult = { written: 0, duplicates: 0, rejected: [] };
      let pending = items.map((_, i) => i);
      if (acknowledged) {
        const seen = acknowledged;
        pending = pending.filter((i) => !seen.has(items[i]!));
        result.written += items.length - pending.length;
      }
      const done: T[] = [];
      try {
        for (const group of splitByBytes(items, pending, options.maxBatchBytes)) await sendGroup(items, group, result, done);
      } catch (error) {
        if (isRetriableKafkaError(error)) {
          acknowledged ??= new WeakSet();
          for (const item of done) acknowledged.add(item);
          throw new TransientSinkError(`${options.name}: ${errorMessage(error)}`, { cause: error });
        }
        throw new Error(`${options.name} refused a batch: ${errorMessage(error)}`, { cause: error });
      }
      return result;
    },
    close: () => options.producer.disconnect(),
  };
}

/** Messages of one send that went to one partition, in order, and the offset the first of them got. */
export interface AcknowledgedBatch<T> {
  topic: string;
  partition: number;
  baseOffset: bigint;
  items: T[];
}

/**
 * The messages of a send with an explicit partition, by partition, with
 * each partition's base offset: kafkajs sends one record batch per partition
 * in a request, in the order given, so the n-th message of a partition is at
 * the base offset + n.
 */
export function acknowledgedBatches<T extends KafkaOutput>(messages: T[], metadata: RecordMetadata[]): AcknowledgedBatch<T>[] {
  const byTopic = new Map<string, Map<number, AcknowledgedBatch<T>>>();
  for (const m of metadata) {
    if (m.baseOffset === undefined) continue;
    let partitions = byTopic.get(m.topicName);
    if (!partitions) byTopic.set(m.topicName, (partitions = new Map()));
    partitions.set(m.partition, { topic: m.topicName, partition: m.partition, baseOffset: BigInt(m.baseOffset), items: [] });
  }
  for (const item of messages) {
    if (item.partition === undefined) continue;
    byTopic.get(item.topic)?.get(item.partition)?.items.push(item);
  }
  return [...byTopic.values()].flatMap((partitions) => [...partitions.values()].filter((b) => b.items.length > 0));
}

/**
 * Groups of indices whose record batch stays within `maxBytes` (a larger
 * single message goes alone, and the destination decides). Sizes are those of
 * Kafka's v2 record format, so a chunk that came in one fetch usually goes out
 * in one request.
 */
export function splitByBytes(items: KafkaOutput[], indices: number[], maxBytes: number): number[][] {
  const groups: number[][] = [];
  let group: number[] = [];
  let bytes = BATCH_OVERHEAD;
  let firstTimestamp = 0;
  for (const i of indices) {
    const item = items[i]!;
    let size = recordBytes(item, group.length ? Number(item.timestamp ?? 0) - firstTimestamp : 0, group.length);
    if (group.length > 0 && bytes + size > maxBytes) {
      groups.push(group);
      group = [];
      bytes = BATCH_OVERHEAD;
      size = recordBytes(item, 0, 0);
    }
    if (group.length === 0) firstTimestamp = Number(item.timestamp ?? 0);
    group.push(i);
    bytes += size;
  }
  if (group.length) groups.push(group);
  return groups;
}

/** A message's size in an uncompressed record batch on its own (for messages). */
export function estimateBytes(message: KafkaOutput): number {
  return BATCH_OVERHEAD + recordBytes(message, 0, 0);
}

/** Size of one record in Kafka's v2 format, given its timestamp and offset deltas in the batch. */
function recordBytes(message: KafkaOutput, timestampDelta: number, offsetDelta: number): number {
  let body = 1 + varintBytes(timestampDelta) + varintBytes(offsetDelta) + fieldBytes(message.key) + fieldBytes(message.value);
  let count = 0;
  const add = (name: string | Buffer, value: Buffer | string | null | undefined) => {
    // The encoder writes no header for an undefined value in the object form.
    if (value === undefined) return;
    body += fieldBytes(name) + fieldBytes(value);
    count++;
  };
  if (message.headerList) {
    for (const header of message.headerList) add(header.key, header.value);
  } else {
    for (const name in message.headers) {
      const value = message.headers[name];
      if (Array.isArray(value)) for (const v of value) add(name, v);
      else add(name, value);
    }
  }
  body += varintBytes(count);
  return body + varintBytes(body);
}

function fieldBytes(value: Buffer | string | null): number {
  if (value === null) return 1;
  const length = typeof value === "string" ? Buffer.byteLength(value) : value.length;
  return varintBytes(length) + length;
}

/** Bytes of a zigzag varint (Kafka's varint and varlong). */
function varintBytes(n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let bytes = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    bytes++;
  }
  return bytes;
}

/** Messages grouped by their topic, for producer.sendBatch or a transaction's sendBatch. */
/** The highest explicit partition per topic, checked before anything is sent. */
async function checkPartitions(items: KafkaOutput[], guard: PartitionGuard): Promise<void> {
  const highest = new Map<string, number>();
  for (const item of items) {
    if (item.partition !== undefined && item.partition > (highest.get(item.topic) ?? -1)) highest.set(item.topic, item.partition);
  }
  for (const [topic, partition] of highest) await guard.ensure(topic, partition);
}

export function byTopic(messages: (Message & { topic: string })[]): TopicMessages[] {
  const topics = new Map<string, Message[]>();
  for (const m of messages) {
    let list = topics.get(m.topic);
    if (!list) topics.set(m.topic, (list = []));
    // Straight through: kafkajs reads key, value, headers, timestamp and partition; the Buffers are not copied.
    list.push(m as Message);
  }
  return [...topics].map(([topic, list]) => ({ topic, messages: list }));
}
