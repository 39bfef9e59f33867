/**
 * Reads chosen partitions of a topic, each from a start offset to an end
 * offset (or on and on), read_committed, and hands the messages over in
 * offset order per partition.
 *
 * kafkajs consumes only in a consumer group and cannot assign partitions
 * itself. A lower-level fetch would mean driving kafkajs' private broker and
 * cluster objects (leaders, fetch sessions, aborted-transaction filtering,
 * decompression) ourselves; instead the read joins a throwaway group of one
 * member, which gets every partition, seeks each wanted partition to its start
 * when the group is joined (before the first fetch) and pauses the others.
 * Nothing is committed and the group is deleted afterwards, as
 * `kcat -C` without -G leaves no trace. With `group` the read is that
 * group's instead (start the ranges at its committed offsets to resume), and
 * what the handler took is committed after it returns.
 *
 * A read with ends finishes when every partition this member owns reached
 * its end (transaction markers and aborted records count: a batch of only
 * those still moves the position). `idleTimeoutMs` ends a read that makes no
 * progress, naming the partitions that did not get there, so it never hangs.
 *
 * @example
 * const result = await readPartitions(kafka, "logins", {
 *   ranges: [{ partition: 0, start: 100n, end: 200n }],
 *   onMessages: (partition, messages) => print(messages),
 *   idleTimeoutMs: 30_000, log, signal,
 * });
 * result.complete; // every range reached its end
 */
import { randomUUID } from "node:crypto";
import type { Kafka, KafkaMessage } from "kafkajs";
import { errorMessage } from "../errors.ts";
import type { PartitionRange } from "../kafka/positions.ts";
import type { Logger } from "../log/logger.ts";

export interface ReadPartitionsOptions {
  ranges: PartitionRange[];
  /** Awaited; returning a number n takes only the first n messages and ends the read (stoppedBy "handler"). */
  onMessages: (partition: number, messages: KafkaMessage[]) => unknown;
  log: Logger;
  signal?: AbortSignal;
  /** Read as this consumer group, committing what was handed over; else a throwaway group. */
  group?: string;
  /** Prefix of the throwaway group's id, to recognise it in group listings. */
  groupPrefix?: string;
  /** Stop when nothing moves for this long (reads with ends only). */
  idleTimeoutMs?: number;
}

export interface RangeProgress extends PartitionRange {
  reached: boolean;
}

export interface ReadPartitionsResult {
  partitions: RangeProgress[];
  /** Every range this member owned reached its end. */
  complete: boolean;
  stoppedBy?: "idle" | "signal" | "crash" | "handler";
}

export async function readPartitions(kafka: Kafka, topic: string, options: ReadPartitionsOptions): Promise<ReadPartitionsResult> {
  const { log } = options;
  const ranges = new Map<number, RangeProgress>(
    options.ranges.map((r) => [r.partition, { ...r, reached: r.end !== undefined && r.start >= r.end }]),
  );
  let owned: number[] | undefined;
  const result = (): ReadPartitionsResult => {
    const partitions = [...ranges.values()].sort((a, b) => a.partition - b.partition);
    const mine = partitions.filter((p) => !owned || owned.includes(p.partition));
    return { partitions, complete: mine.every((p) => p.reached) };
  };
  if (result().complete) return result();

  const groupId = options.group ?? `${options.groupPrefix ?? "kafka-toolkit-read"}-${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
    maxWaitTimeInMs: 250,
  });
  let stoppedBy: ReadPartitionsResult["stoppedBy"];
  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const stop = (reason: NonNullable<ReadPartitionsResult["stoppedBy"]>) => {
    stoppedBy ??= reason;
    finish();
  };
  const onAbort = () => stop("signal");
  const pause = (partition: number) => consumer.pause([{ topic, partitions: [partition] }]);
  const reach = (range: RangeProgress) => {
    if (range.reached) return;
    range.reached = true;
    pause(range.partition);
    if (result().complete) finish();
  };
  let idleCheck: ReturnType<typeof setInterval> | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let lastProgressAt = Date.now();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    // Emitted inside the join, before the first fetch: the seeks and pauses apply to it.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      owned = payload.memberAssignment[topic] ?? [];
      for (const partition of owned) {
        const range = ranges.get(partition);
        if (!range || range.reached) pause(partition);
        else consumer.seek({ topic, partition, offset: range.start.toString() });
      }
      if (result().complete) finish();
    });
    // Fired for every fetched batch, also those holding only transaction
    // markers or aborted records, which never reach eachBatch.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      lastProgressAt = Date.now();
      const range = ranges.get(payload.partition);
      if (range?.end !== undefined && BigInt(payload.lastOffset) + 1n >= range.end) reach(range);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      log.warn("reader crashed", { topic, error: errorMessage(payload.error), restart: payload.restart });
      if (!payload.restart) stop("crash");
    });
    if (options.idleTimeoutMs !== undefined) {
      const idleMs = options.idleTimeoutMs;
      idleCheck = setInterval(() => {
        if (Date.now() - lastProgressAt > idleMs) stop("idle");
      }, 200);
    }
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = ranges.get(batch.partition);
        if (!range || range.reached || stoppedBy) return;
        let messages = batch.messages.filter((m) => BigInt(m.offset) >= range.start && (range.end === undefined || BigInt(m.offset) < range.end));
        const taken = messages.length > 0 ? await options.onMessages(batch.partition, messages) : undefined;
        if (typeof taken === "number") {
          messages = messages.slice(0, taken);
          stop("handler");
        }
        if (options.group !== undefined && messages.length > 0) {
          const last = BigInt(messages[messages.length - 1]!.offset) + 1n;
          await consumer.commitOffsets([{ topic, partition: batch.partition, offset: last.toString() }]);
        }
        if (range.end !== undefined && batch.messages.some((m) => BigInt(m.offset) + 1n >= range.end!)) reach(range);
      },
    });
    await finished;
  } finally {
    clearInterval(idleCheck);
    options.signal?.removeEventListener("abort", onAbort);
    await consumer.disconnect().catch((error) => log.warn("reader disconnect failed", { error: errorMessage(error) }));
    if (options.group === undefined) await deleteGroup(kafka, groupId, log);
  }
  const done = result();
  return done.complete ? done : { ...done, stoppedBy };
}

async function deleteGroup(kafka: Kafka, groupId: string, log: Logger): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch (error) {
    log.warn("could not delete the reader's consumer group", { group: groupId, error: errorMessage(error) });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
