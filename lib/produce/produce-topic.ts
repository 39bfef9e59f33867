/**
 * The produce side of topic-cat: lines from a file or stdin to one topic
 * through an idempotent producer (acks=all, so a retried send never makes a
 * duplicate), with progress logs and the counts at the end.
 *
 * @example
 * const counts = await produceLines({ kafka: section, topic: "logins", parse: lineParser({ format: "line", headers: [] }),
 *   compression: "none", log, signal }); // reads stdin
 */
import { createReadStream } from "node:fs";
import type { KafkaSection } from "../config/kafka-section.ts";
import { createKafka, describeKafka } from "../kafka/client.ts";
import { compressionType } from "../kafka/codecs.ts";
import type { CompressionName } from "../kafka/compression-names.ts";
import type { EnvelopeMessage } from "../kafka/envelope.ts";
import type { Logger } from "../log/logger.ts";
import { createProgress } from "../log/progress.ts";
import { REPLICATION_PRODUCER } from "../sinks/kafka.ts";
import { readLines, sendLines, type SendLinesCounts } from "./send-lines.ts";

export interface ProduceLinesOptions {
  kafka: KafkaSection;
  topic: string;
  /** Default stdin. */
  file?: string;
  parse: (line: string, where: string) => EnvelopeMessage;
  partition?: number;
  compression: CompressionName;
  log: Logger;
  signal: AbortSignal;
}

/** The topic to write does not exist; topic-cat never creates one by accident. */
export class ProduceTopicNotFoundError extends Error {
  override name = "ProduceTopicNotFoundError";
}

export async function produceLines(options: ProduceLinesOptions): Promise<SendLinesCounts> {
  const { topic, log } = options;
  const kafka = createKafka(options.kafka, log, { retries: 2 });
  const admin = kafka.admin();
  await admin.connect();
  let partitions: number;
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new ProduceTopicNotFoundError(`topic '${topic}' does not exist`);
    partitions = (await admin.fetchTopicOffsets(topic)).length;
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer(REPLICATION_PRODUCER);
  await producer.connect();
  const input = options.file ? createReadStream(options.file) : process.stdin;
  const progress = createProgress({ logger: log, everyMessages: 100_000, everyMs: 10_000, message: "produced" });
  log.info("producing", { kafka: describeKafka(options.kafka), topic, from: options.file ?? "stdin" });
  try {
    return await sendLines({
      producer,
      topic,
      partitions,
      lines: readLines(input, options.file ?? "stdin"),
      parse: options.parse,
      partition: options.partition,
      compression: compressionType(options.compression),
      signal: options.signal,
      onSent: (messages, bytes) => progress.record(messages, bytes),
    });
  } finally {
    progress.stop();
    await producer.disconnect();
  }
}
