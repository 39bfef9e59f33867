/**
 * Reads a topic from its earliest offset to the end it had when the read
 * started, then stops (like `kcat -e`). Nothing is committed: kafkajs can
 * only consume in a group, so a throwaway group is used and deleted after.
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
import { randomUUID } from "node:crypto";
import type { Kafka, KafkaMessage } from "kafkajs";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";

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
  const { log } = options;
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new TopicNotFoundError(topic);
    const ranges = new Map<number, PartitionRange>();
    for (const o of await admin.fetchTopicOffsets(topic)) {
      const earliest = Number(o.low);
      const end = Number(o.high);
      ranges.set(o.partition, { partition: o.partition, earliest, end, reached: end <= earliest });
    }
    const result = () => {
      const partitions = [...ranges.values()].sort((a, b) => a.partition - b.partition);
      return { partitions, complete: partitions.every((p) => p.reached) };
    };
    if (result().complete) return result();

    const groupId = `${options.groupPrefix ?? "kafka-toolkit-read"}-${randomUUID()}`;
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTimeInMs: 250,
    });
    let stoppedBy: ReadTopicResult["stoppedBy"];
    let finish = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const stop = (reason: NonNullable<ReadTopicResult["stoppedBy"]>) => {
      stoppedBy = reason;
      finish();
    };
    const onAbort = () => stop("signal");
    let idleCheck: ReturnType<typeof setInterval> | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let lastProgressAt = Date.now();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.signal?.aborted) onAbort();
      // Fired for every fetched batch, also those holding only transaction
      // markers or aborted records, which never reach eachBatch.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        lastProgressAt = Date.now();
        const range = ranges.get(payload.partition);
        if (range && Number(payload.lastOffset) + 1 >= range.end) range.reached = true;
        if (result().complete) finish();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        log.warn("reader crashed", { topic, error: errorMessage(payload.error), restart: payload.restart });
        if (!payload.restart) stop("crash");
      });
      idleCheck = setInterval(() => {
        if (Date.now() - lastProgressAt > options.idleTimeoutMs) stop("idle");
      }, 200);
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = ranges.get(batch.partition)?.end ?? 0;
          const inRange = batch.messages.filter((m) => Number(m.offset) < end);
          if (inRange.length > 0) await options.onMessages(batch.partition, inRange);
        },
      });
      await finished;
    } finally {
      clearInterval(idleCheck);
      options.signal?.removeEventListener("abort", onAbort);
      await consumer.disconnect().catch((error) => log.warn("reader disconnect failed", { error: errorMessage(error) }));
      await admin
        .deleteGroups([groupId])
        .catch((error) => log.warn("could not delete the reader's consumer group", { group: groupId, error: errorMessage(error) }));
    }
    const done = result();
    return done.complete ? done : { ...done, stoppedBy };
  } finally {
    await admin.disconnect();
  }
}
