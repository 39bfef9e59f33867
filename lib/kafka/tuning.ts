/**
 * Applies a config section's consumer and producer tuning to kafkajs.
 *
 * Consumer keys map one to one onto kafkajs's consumer options. kafkajs has
 * no producer-side batching (a send is one request), so `linger_ms` and
 * `batch_size` are done here, as the Java client does them: sends made within
 * linger_ms of each other go out as one request, and no request carries more
 * than batch_size bytes of keys and values (a larger send is split, in order).
 *
 * @example
 * const consumer = kafka.consumer({ groupId: "g", ...consumerOptions(section.consumer) });
 * const producer = tunedProducer(kafka.producer(), section.producer);
 * await producer.send({ topic: "logins", messages }); // joins sends made within linger_ms
 */
import type { ConsumerConfig, Message, Producer, ProducerBatch, RecordMetadata, TopicMessages } from "kafkajs";
import type { ConsumerTuning, ProducerTuning } from "../config/kafka-section.ts";

/** The kafkajs consumer options a section sets; unset keys are left out so defaults apply. */
export function consumerOptions(tuning: ConsumerTuning): Partial<ConsumerConfig> {
  const options: Partial<ConsumerConfig> = {
    minBytes: tuning.fetchMinBytes,
    maxBytes: tuning.fetchMaxBytes,
    maxBytesPerPartition: tuning.maxPartitionFetchBytes,
    maxWaitTimeInMs: tuning.fetchMaxWaitMs,
    sessionTimeout: tuning.sessionTimeoutMs,
    heartbeatInterval: tuning.heartbeatIntervalMs,
  };
  for (const key of Object.keys(options) as (keyof ConsumerConfig)[]) {
    if (options[key] === undefined) delete options[key];
  }
  return options;
}

/**
 * The producer with `send` and `sendBatch` lingering and split by bytes as the
 * tuning says; the same producer when the section tunes nothing. A call that
 * joined others resolves with the metadata of the whole request, and fails
 * with it. Transactions are left as they are.
 */
export function tunedProducer(producer: Producer, tuning: ProducerTuning): Producer {
  if (!tuning.lingerMs && tuning.batchBytes === undefined) return producer;
  const sendSplit = async (batch: ProducerBatch): Promise<RecordMetadata[]> => {
    const results: RecordMetadata[] = [];
    for (const topicMessages of splitByBytes(batch.topicMessages ?? [], tuning.batchBytes)) {
      results.push(...(await producer.sendBatch({ ...batch, topicMessages })));
    }
    return results;
  };
  const sendBatch = tuning.lingerMs ? lingering(sendSplit, tuning.lingerMs, tuning.batchBytes) : sendSplit;
  return {
    ...producer,
    sendBatch,
    send: ({ topic, messages, ...options }) => sendBatch({ ...options, topicMessages: [{ topic, messages }] }),
  };
}

/** Bytes of a message's key and value, what batch_size counts. */
export function messageBytes(message: Message): number {
  return byteLength(message.key) + byteLength(message.value);
}

/**
 * Splits topic messages into requests of at most `maxBytes` each, keeping
 * every partition's order; a single message larger than that goes alone.
 */
export function splitByBytes(topicMessages: TopicMessages[], maxBytes: number | undefined): TopicMessages[][] {
  if (maxBytes === undefined) return [topicMessages];
  const requests: TopicMessages[][] = [];
  let request: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let current: TopicMessages | undefined;
    for (const message of messages) {
      const size = messageBytes(message);
      if (bytes > 0 && bytes + size > maxBytes) {
        requests.push(request);
        request = [];
        bytes = 0;
        current = undefined;
      }
      if (!current) {
        current = { topic, messages: [] };
        request.push(current);
      }
      current.messages.push(message);
      bytes += size;
    }
  }
  if (request.length) requests.push(request);
  return requests;
}

interface OpenRequest {
  batch: ProducerBatch & { topicMessages: TopicMessages[] };
  bytes: number;
  callers: { resolve: (metadata: RecordMetadata[]) => void; reject: (error: unknown) => void }[];
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Holds each send up to `lingerMs` for others with the same acks, timeout and
 * compression to join it; sends at once when `fullAtBytes` have gathered.
 */
function lingering(
  send: (batch: ProducerBatch) => Promise<RecordMetadata[]>,
  lingerMs: number,
  fullAtBytes = Number.POSITIVE_INFINITY,
): (batch: ProducerBatch) => Promise<RecordMetadata[]> {
  const open = new Map<string, OpenRequest>();
  const flush = (key: string) => {
    const request = open.get(key);
    if (!request) return;
    open.delete(key);
    clearTimeout(request.timer);
    send(request.batch).then(
      (metadata) => request.callers.forEach((caller) => caller.resolve(metadata)),
      (error) => request.callers.forEach((caller) => caller.reject(error)),
    );
  };
  return (batch) =>
    new Promise((resolve, reject) => {
      const { topicMessages = [], ...options } = batch;
      const key = `${options.acks}|${options.timeout}|${options.compression}`;
      let request = open.get(key);
      if (!request) {
        request = { batch: { ...options, topicMessages: [] }, bytes: 0, callers: [], timer: setTimeout(() => flush(key), lingerMs) };
        open.set(key, request);
      }
      request.batch.topicMessages.push(...topicMessages);
      request.bytes += topicMessages.reduce((sum, t) => sum + t.messages.reduce((s, m) => s + messageBytes(m), 0), 0);
      request.callers.push({ resolve, reject });
      if (request.bytes >= fullAtBytes) flush(key);
    });
}

function byteLength(data: Message["value"] | Message["key"]): number {
  if (data === null || data === undefined) return 0;
  return typeof data === "string" ? Buffer.byteLength(data) : data.length;
}
