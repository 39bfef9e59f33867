/**
 * The consume side of topic-cat: resolves where each partition's read starts
 * and ends (lib/kafka/positions.ts), reads them (read-partitions.ts) and
 * writes every message, rendered, to a stream, waiting for it to drain so
 * memory stays flat however fast the topic is read. Stops at --count, at the
 * ends, on the signal, or when the reader of the stream goes away (a closed
 * pipe, as with `| head`).
 *
 * @example
 * const result = await catTopic({ kafka: section, topic: "logins", range: { start: { kind: "tail", count: 10n }, end: { kind: "end" } },
 *   times: {}, render: messageRenderer("json"), out: process.stdout, idleTimeoutMs: 30_000, log, signal });
 * result.messages; // 10 per partition, at most
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import type { KafkaMessage } from "kafkajs";
import type { KafkaSection } from "../config/kafka-section.ts";
import { errorMessage, UsageError } from "../errors.ts";
import { createKafka, describeKafka } from "../kafka/client.ts";
import type { CatMessage } from "../kafka/envelope.ts";
import { headerPairs } from "../kafka/header-pairs.ts";
import { fetchPartitionBounds, resolveRange, type RangeSpec } from "../kafka/positions.ts";
import type { Logger } from "../log/logger.ts";
import { createProgress } from "../log/progress.ts";
import { readPartitions } from "./read-partitions.ts";
import { TopicNotFoundError } from "./read-topic.ts";

export interface CatTopicOptions {
  kafka: KafkaSection;
  topic: string;
  /** Only this partition; default all. */
  partition?: number;
  range: RangeSpec;
  times: { fromTime?: number; toTime?: number };
  /** Stop after this many messages in all. */
  count?: number;
  /** Read as this consumer group, committing; default none. */
  group?: string;
  idleTimeoutMs: number;
  /** Awaited before a batch is rendered (loads the Avro schemas it names). */
  prepare?: (values: (Buffer | null)[]) => Promise<void>;
  render: (message: CatMessage) => Buffer;
  out: Writable;
  log: Logger;
  signal: AbortSignal;
}

export interface CatTopicResult {
  messages: number;
  /** Why the read failed, for exit code 1. */
  problem?: string;
}

export async function catTopic(options: CatTopicOptions): Promise<CatTopicResult> {
  const { topic, log } = options;
  const kafka = createKafka(options.kafka, log, { retries: 2 });
  const admin = kafka.admin();
  await admin.connect();
  let ranges;
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new TopicNotFoundError(topic);
    const bounds = await fetchPartitionBounds(admin, topic, options.times);
    if (options.group !== undefined) {
      // Where the group is, so a read that resumes there knows whether anything is left.
      const [committed] = await admin.fetchOffsets({ groupId: options.group, topics: [topic] });
      for (const p of committed?.partitions ?? []) {
        const bound = bounds.find((b) => b.partition === p.partition);
        if (bound && BigInt(p.offset) >= 0n) bound.committed = BigInt(p.offset);
      }
    }
    if (options.partition !== undefined && !bounds.some((b) => b.partition === options.partition)) {
      throw new UsageError(`--partition ${options.partition}: '${topic}' has partitions 0-${bounds.length - 1}`);
    }
    ranges = bounds.filter((b) => options.partition === undefined || b.partition === options.partition).map((b) => resolveRange(b, options.range));
  } finally {
    await admin.disconnect();
  }
  log.info("reading", {
    kafka: describeKafka(options.kafka),
    topic,
    ranges: ranges.map((r) => `${r.partition}:${r.start}-${r.end ?? "follow"}`).join(" "),
    ...(options.group ? { group: options.group } : {}),
  });

  // The stream's reader going away (EPIPE) ends the read like Ctrl-C, quietly.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal.addEventListener("abort", onAbort, { once: true });
  let closed = false;
  const onOutError = (error: Error) => {
    closed = true;
    log.debug("output closed", { error: errorMessage(error) });
    stop.abort();
  };
  options.out.on("error", onOutError);
  const progress = createProgress({ logger: log, everyMessages: 100_000, everyMs: 10_000, message: "read" });
  let messages = 0;
  try {
    const read = await readPartitions(kafka, topic, {
      ranges,
      group: options.group,
      groupPrefix: "kafka-toolkit-cat",
      idleTimeoutMs: options.range.end.kind === "none" ? undefined : options.idleTimeoutMs,
      log,
      signal: stop.signal,
      onMessages: async (partition, batch) => {
        const wanted = options.count === undefined ? batch : batch.slice(0, options.count - messages);
        await options.prepare?.(wanted.map((m) => m.value));
        const bytes = Buffer.concat(wanted.map((m) => options.render(catMessage(topic, partition, m))));
        messages += wanted.length;
        progress.record(wanted.length, bytes.length);
        if (!closed && !options.out.write(bytes)) await Promise.race([once(options.out, "drain"), once(stop.signal, "abort")]);
        return options.count !== undefined && messages >= options.count ? wanted.length : undefined;
      },
    });
    const unfinished = read.partitions.filter((p) => !p.reached).map((p) => p.partition);
    const problem =
      read.stoppedBy === "idle"
        ? `no progress for ${options.idleTimeoutMs / 1000} s; partition(s) ${unfinished.join(",")} did not reach their end`
        : read.stoppedBy === "crash"
          ? "the reader failed (see the log)"
          : undefined;
    return { messages, problem };
  } finally {
    progress.stop();
    options.signal.removeEventListener("abort", onAbort);
    options.out.off("error", onOutError);
  }
}

function catMessage(topic: string, partition: number, m: KafkaMessage): CatMessage {
  return { topic, partition, offset: m.offset, timestamp: m.timestamp, key: m.key ?? null, value: m.value, headers: headerPairs(m) };
}
