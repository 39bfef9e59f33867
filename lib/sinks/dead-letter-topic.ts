/**
 * The dead-letter topic: a letter is copied, with its original key, value
 * and headers, to a Kafka topic, plus headers that say why, where and when.
 *
 * @example
 * const dlq = await openDeadLetterTopic(kafka, "logins.dlq", log);
 * await dlq.send([{ record, reason: "invalid JSON: Unexpected token", stage: "parse" }]);
 */
import { ConfigResourceTypes, Partitioners, type Admin, type IHeaders, type Kafka, type Message, type Producer } from "kafkajs";
import type { DeadLetter, DeadLetterTopic } from "../engine/dead-letter.ts";
import { ensureTopic } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";

/** Header names, shared with verify-topic's reconciliation. */
export const DLQ_HEADERS = {
  reason: "x-dlq-reason",
  stage: "x-dlq-stage",
  time: "x-dlq-time",
  sourceTopic: "x-source-topic",
  sourcePartition: "x-source-partition",
  sourceOffset: "x-source-offset",
  sourceTimestamp: "x-source-timestamp",
  /** Set when the letter was cut to fit the topic's max.message.bytes: what was cut. */
  truncated: "x-dlq-truncated",
} as const;

/**
 * The message sent for a letter. Stamped with the current time: the topic's
 * retention counts from the record timestamp, and the source's (kept in
 * x-source-timestamp) could be old enough for the letter to be deleted right
 * after the source offset is committed. A letter larger than `maxBytes` has
 * its value (then its key and original headers) cut to fit, with
 * x-dlq-truncated saying what was cut, rather than never being sent.
 */
export function deadLetterMessage(letter: DeadLetter, now: Date = new Date(), maxBytes = Number.POSITIVE_INFINITY): Message {
  const { record } = letter;
  const dlqHeaders: IHeaders = {
    [DLQ_HEADERS.reason]: letter.reason.slice(0, 1000),
    [DLQ_HEADERS.stage]: letter.stage,
    [DLQ_HEADERS.time]: now.toISOString(),
    [DLQ_HEADERS.sourceTopic]: record.topic,
    [DLQ_HEADERS.sourcePartition]: String(record.partition),
    [DLQ_HEADERS.sourceOffset]: record.offset,
    [DLQ_HEADERS.sourceTimestamp]: record.timestamp,
  };
  const message: Message = {
    key: record.key,
    value: record.value,
    headers: { ...sendableHeaders(record.headers), ...dlqHeaders },
    timestamp: String(now.getTime()),
  };
  return messageBytes(message) <= maxBytes ? message : truncated(message, dlqHeaders, maxBytes);
}

/** Per-record framing Kafka adds around key, value and headers, generously counted. */
const RECORD_OVERHEAD = 64;
/** Room left for the record batch header when packing letters into one send. */
const BATCH_OVERHEAD = 128;

/** Bytes a message takes in a record batch, uncompressed, counted from above. */
export function messageBytes(message: Message): number {
  let bytes = RECORD_OVERHEAD + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) bytes += 16 + Buffer.byteLength(name) + byteLength(v as Buffer | string | null);
  }
  return bytes;
}

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "string" ? Buffer.byteLength(value) : value.length;
}

function truncated(message: Message, dlqHeaders: IHeaders, maxBytes: number): Message {
  const valueBytes = byteLength(message.value);
  const keyBytes = byteLength(message.key);
  const note = (kept: Message) =>
    `value ${valueBytes} bytes, kept ${byteLength(kept.value)}; key ${keyBytes} bytes, kept ${byteLength(kept.key)}` +
    (kept.headers === dlqHeaders ? "; original headers dropped" : "");
  const withNote = (kept: Message): Message => ({ ...kept, headers: { ...kept.headers, [DLQ_HEADERS.truncated]: note(kept) } });
  // Room for the note itself, whose digits are not known yet.
  const budget = maxBytes - 200;
  let kept: Message = { ...message, value: null };
  if (messageBytes(kept) > budget) kept = { ...kept, headers: dlqHeaders };
  if (messageBytes(kept) > budget) kept = { ...kept, key: bufferOf(message.key).subarray(0, Math.max(0, budget - messageBytes({ ...kept, key: null }))) };
  const room = Math.max(0, budget - messageBytes(kept));
  return withNote({ ...kept, value: message.value === null ? null : bufferOf(message.value).subarray(0, room) });
}

function bufferOf(value: Buffer | string | null | undefined): Buffer {
  if (value === null || value === undefined) return Buffer.alloc(0);
  return typeof value === "string" ? Buffer.from(value) : value;
}

/**
 * Letters in sends no larger than the topic accepts in one record batch:
 * a whole chunk's letters at once could exceed it and fail every time.
 */
export function splitBySize(messages: Message[], maxBytes: number): Message[][] {
  const sends: Message[][] = [];
  let current: Message[] = [];
  let bytes = BATCH_OVERHEAD;
  for (const message of messages) {
    const size = messageBytes(message);
    if (current.length > 0 && bytes + size > maxBytes) {
      sends.push(current);
      current = [];
      bytes = BATCH_OVERHEAD;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length) sends.push(current);
  return sends;
}

// kafkajs cannot send a header whose value is null or undefined (it reads one
// back as such for a header with no value); dropping it keeps the letter sendable.
function sendableHeaders(headers: IHeaders): IHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== null && value !== undefined));
}

/** The broker's default max.message.bytes, when the topic's cannot be read. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

export async function openDeadLetterTopic(kafka: Kafka, topic: string, log: Logger): Promise<DeadLetterTopic> {
  const admin = kafka.admin();
  await admin.connect();
  let maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
  try {
    if ((await ensureTopic(admin, topic)).created) log.info("created dead-letter topic", { topic });
    maxMessageBytes = await topicMaxMessageBytes(admin, topic);
  } catch (error) {
    // Without create permission the broker may still auto-create it on first send.
    log.warn("could not create or describe the dead-letter topic; relying on auto-creation and default limits", { topic, error: String(error) });
  } finally {
    await admin.disconnect();
  }
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  // Record batch framing and compression headroom under the topic's limit.
  const sendBytes = maxMessageBytes - 1024;
  return {
    topic,
    async send(letters) {
      if (letters.length === 0) return;
      const now = new Date();
      const messages = letters.map((letter) => deadLetterMessage(letter, now, sendBytes - BATCH_OVERHEAD));
      for (const part of splitBySize(messages, sendBytes)) await producer.send({ topic, acks: -1, messages: part });
    },
    close: () => producer.disconnect(),
  };
}

async function topicMaxMessageBytes(admin: Admin, topic: string): Promise<number> {
  const described = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["max.message.bytes"] }],
    includeSynonyms: false,
  });
  const value = Number(described.resources[0]?.configEntries.find((e) => e.configName === "max.message.bytes")?.configValue);
  return Number.isFinite(value) && value > 2048 ? value : DEFAULT_MAX_MESSAGE_BYTES;
}
