/**
 * The offset-syncs topic: a compacted, one-partition topic on a destination
 * cluster, where kafka2kafka records which destination offsets hold the
 * copies of which source offsets (see offset-sync.ts for the records and
 * their meaning). Every flow into the cluster writes there, so reading a
 * cluster's topic also tells which flows copy into it (the two-way check).
 *
 * @example
 * const store = new OffsetSyncStore();
 * for (const sync of await readOffsetSyncs(destinationKafka, "kafka2kafka.offset-syncs.internal", { log })) store.add(sync);
 * const writer = await openOffsetSyncWriter({ kafka: destinationKafka, admin, topic, tracker, store, log });
 * await writer.flush(); // the runs that grew since the last flush, acknowledged, then in the store
 */
import { Partitioners, type Admin, type Kafka, type Producer } from "kafkajs";
import { readTopicToEnd, TopicNotFoundError } from "../inspect/read-topic.ts";
import { ensureTopic } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";
import { decodeOffsetSync, encodeOffsetSync, type OffsetSync, type OffsetSyncStore, type OffsetSyncTracker } from "./offset-sync.ts";

export class OffsetSyncReadError extends Error {
  override name = "OffsetSyncReadError";
}

/** Every well-formed sync in the topic, oldest first; none when the topic does not exist. */
export async function readOffsetSyncs(kafka: Kafka, topic: string, options: { log: Logger; signal?: AbortSignal }): Promise<OffsetSync[]> {
  const syncs: OffsetSync[] = [];
  let malformed = 0;
  try {
    const result = await readTopicToEnd(kafka, topic, {
      idleTimeoutMs: 30_000,
      log: options.log,
      signal: options.signal,
      groupPrefix: "kafka2kafka-offset-syncs-read",
      onMessages: (_partition, messages) => {
        for (const m of messages) {
          try {
            syncs.push(decodeOffsetSync(m.key, m.value));
          } catch {
            malformed++;
          }
        }
      },
    });
    if (!result.complete) throw new OffsetSyncReadError(`could not read offset-syncs topic '${topic}' to its end (${result.stoppedBy})`);
  } catch (error) {
    if (error instanceof TopicNotFoundError) return [];
    throw error;
  }
  if (malformed) options.log.warn("offset-syncs topic holds records that are not offset syncs; ignored", { topic, records: malformed });
  return syncs;
}

export interface OffsetSyncWriter {
  /** Writes the syncs that changed since the last flush, then adds them to the store (if any). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface OffsetSyncWriterOptions {
  kafka: Kafka;
  admin: Admin;
  topic: string;
  tracker: OffsetSyncTracker;
  /** Where written syncs go for translation; absent when no group is synced. */
  store?: OffsetSyncStore;
  log: Logger;
}

/** Creates the topic when missing (compacted, one partition) and a producer for it. */
export async function openOffsetSyncWriter(options: OffsetSyncWriterOptions): Promise<OffsetSyncWriter> {
  const { topic, tracker, store, log } = options;
  const ensured = await ensureTopic(options.admin, topic, { partitions: 1, configEntries: [{ name: "cleanup.policy", value: "compact" }] });
  if (ensured.created) log.info("created offset-syncs topic", { topic });
  const producer: Producer = options.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // One partition: the partitioner never matters; naming one keeps kafkajs from warning about its default.
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 5 },
  });
  await producer.connect();
  // One flush at a time: a later state of a run must never be written before an earlier one.
  let chain: Promise<void> = Promise.resolve();
  const flushOnce = async () => {
    const syncs = tracker.changed();
    if (syncs.length === 0) return;
    try {
      await producer.send({ topic, acks: -1, messages: syncs.map(encodeOffsetSync) });
    } catch (error) {
      tracker.requeue(syncs);
      throw error;
    }
    if (store) for (const sync of syncs) store.add(sync);
  };
  return {
    flush() {
      const next = chain.then(flushOnce);
      chain = next.catch(() => {});
      return next;
    },
    async close() {
      await chain;
      await producer.disconnect();
    },
  };
}
