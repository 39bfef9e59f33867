/**
 * Sends messages read from lines (lib/produce/line-input.ts) to one topic in
 * batches through an idempotent producer, keeping each message's partition
 * and timestamp when it has them, and counts what was acknowledged.
 *
 * @example
 * const counts = await sendLines({ producer, topic: "t", partitions: 3, lines: readLines(process.stdin, "stdin"),
 *   parse: lineParser({ format: "json", headers: [] }), compression: CompressionTypes.None, signal });
 * counts.produced; // 1200
 */
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { CompressionTypes, Message, Producer } from "kafkajs";
import { EnvelopeError, type EnvelopeMessage } from "../kafka/envelope.ts";
import { kafkaHeaderList } from "../kafka/header-pairs.ts";

export interface SendLinesOptions {
  producer: Pick<Producer, "send">;
  topic: string;
  /** Partitions of the topic, to refuse a message for one that does not exist. */
  partitions: number;
  lines: AsyncIterable<{ line: string; where: string }>;
  parse: (line: string, where: string) => EnvelopeMessage;
  /** Every message to this partition, over the envelope's. */
  partition?: number;
  compression: CompressionTypes;
  batchSize?: number;
  signal?: AbortSignal;
  onSent?: (messages: number, bytes: number) => void;
}

export interface SendLinesCounts {
  produced: number;
  /** Bytes of keys and values. */
  bytes: number;
}

/** Lines of a stream with their place (`name:line`), CR LF or LF endings; a last line without an end counts. */
export async function* readLines(input: Readable, name: string): AsyncIterable<{ line: string; where: string }> {
  let n = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    n++;
    yield { line, where: `${name}:${n}` };
  }
}

export async function sendLines(options: SendLinesOptions): Promise<SendLinesCounts> {
  const counts: SendLinesCounts = { produced: 0, bytes: 0 };
  const batchSize = options.batchSize ?? 500;
  let batch: Message[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const sent = batch;
    batch = [];
    await options.producer.send({ topic: options.topic, acks: -1, compression: options.compression, messages: sent });
    const bytes = sent.reduce((sum, m) => sum + ((m.key as Buffer | null)?.length ?? 0) + ((m.value as Buffer | null)?.length ?? 0), 0);
    counts.produced += sent.length;
    counts.bytes += bytes;
    options.onSent?.(sent.length, bytes);
  };
  for await (const { line, where } of options.lines) {
    if (options.signal?.aborted) break;
    const message = options.parse(line, where);
    const partition = options.partition ?? message.partition;
    if (partition !== undefined && partition >= options.partitions) {
      throw new EnvelopeError(`${where}: partition ${partition} does not exist ('${options.topic}' has ${options.partitions})`);
    }
    batch.push({
      key: message.key,
      value: message.value,
      headerList: kafkaHeaderList(message.headers),
      ...(partition !== undefined ? { partition } : {}),
      ...(message.timestamp !== undefined ? { timestamp: message.timestamp } : {}),
    });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return counts;
}
