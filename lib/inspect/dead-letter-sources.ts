/**
 * The source offsets a dead-letter topic accounts for: each dead letter
 * names its origin in x-source-topic, x-source-partition and
 * x-source-offset headers (written by the kafka2mongo engine).
 *
 * @example
 * const { counts } = await readDeadLetterSources(kafka, "logins.dlq", "logins", { log, idleTimeoutMs: 30_000 });
 * counts.count(1, 17); // 1 when logins partition 1 offset 17 was dead-lettered
 */
import type { Kafka } from "kafkajs";
import { DLQ_HEADERS } from "../sinks/dead-letter-topic.ts";
import type { Logger } from "../log/logger.ts";
import { readTopicToEnd, TopicNotFoundError } from "./read-topic.ts";
import { OffsetCounts } from "./reconcile.ts";
import { headerStrings } from "./topic-stats.ts";
import { toInteger } from "./landed-offsets.ts";

export interface DeadLetterSources {
  counts: OffsetCounts;
  /** Messages in the dead-letter topic, from any source. */
  messages: number;
  /** Dead letters of the source topic whose partition or offset header is missing or unreadable. */
  unreadable: number;
  exists: boolean;
  complete: boolean;
}

export async function readDeadLetterSources(
  kafka: Kafka,
  dlqTopic: string,
  sourceTopic: string,
  options: { log: Logger; idleTimeoutMs: number; signal?: AbortSignal },
): Promise<DeadLetterSources> {
  const counts = new OffsetCounts();
  let messages = 0;
  let unreadable = 0;
  const read = await readTopicToEnd(kafka, dlqTopic, {
    ...options,
    groupPrefix: "kafka-toolkit-verify-dlq",
    onMessages: (_partition, batch) => {
      for (const message of batch) {
        messages++;
        const headers = headerStrings(message.headers);
        if (headers[DLQ_HEADERS.sourceTopic] !== sourceTopic) continue;
        const partition = toInteger(headers[DLQ_HEADERS.sourcePartition]);
        const offset = toInteger(headers[DLQ_HEADERS.sourceOffset]);
        if (partition === undefined || offset === undefined) unreadable++;
        else counts.add(partition, offset);
      }
    },
  }).catch((error: unknown) => {
    if (error instanceof TopicNotFoundError) return undefined;
    throw error;
  });
  return { counts, messages, unreadable, exists: read !== undefined, complete: read?.complete ?? true };
}
