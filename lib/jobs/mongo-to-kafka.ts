/**
 * MongoDB → Kafka: the job behind tools/mongo2kafka.ts, in polling mode.
 * Reads the collection in order of an increasing field (lib/sources/mongo-poll.ts),
 * sends each batch through an idempotent producer with acks=all, and only
 * then moves the durable checkpoint (lib/state/checkpoint-file.ts) past it.
 *
 * Before a batch goes out, the checkpoint file records it as pending (its
 * last field value). After a crash the next run re-sends exactly that range
 * first and counts it as `resent`: the only messages that can be in the topic
 * twice are those of the one batch Kafka had not acknowledged.
 *
 * Reads take only values older than `delayMs` when the field holds a time
 * (the gap rule in lib/sources/mongo-poll.ts), so a document inserted late
 * with a smaller value than one already sent is not skipped. With
 * `untilCaughtUp` the run ends once every document whose field is older than
 * the moment it first found nothing to read has been sent.
 *
 * @example
 * const summary = await mongoToKafka({ kafka, mongo, database: "shop", collection: "orders",
 *   topic: "orders", field: "_id", initial: "snapshot", checkpointPath: "state/orders.json", delayMs: 5000,
 *   batchSize: 500, pollIntervalMs: 1000, untilCaughtUp: true, canonical: false, log, signal });
 */
import { Partitioners, type Kafka, type Producer } from "kafkajs";
import type { Collection, Document } from "mongodb";
import { backoffDelay, sleep, type BackoffOptions } from "../backoff.ts";
import type { KafkaSection } from "../config/kafka-section.ts";
import type { MongoSection } from "../config/mongo-section.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import { createKafka } from "../kafka/client.ts";
import { ensureTopic } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";
import { createProgress } from "../log/progress.ts";
import { createMongoClient, describeMongo } from "../mongo/client.ts";
import { decodePosition, encodePosition, mongoMessage } from "../processors/mongo-message.ts";
import {
  batchFilter,
  compareValues,
  defaultOrder,
  fieldValue,
  horizon,
  latestValue,
  readAfter,
  sampleValue,
  type ReadOrder,
} from "../sources/mongo-poll.ts";
import { checkpointFile, type CheckpointFile } from "../state/checkpoint-file.ts";

export interface MongoToKafkaOptions {
  kafka: KafkaSection;
  mongo: MongoSection;
  database: string;
  collection: string;
  topic: string;
  /** The increasing field batches are read in order of. */
  field: string;
  /** With no checkpoint yet: send what the collection holds (snapshot) or only what comes later (none). */
  initial: "snapshot" | "none";
  checkpointPath: string;
  /** A document is read once the time in its field is this old (fields holding a time only). */
  delayMs: number;
  /** How reads are ordered; undefined picks client order on FerretDB, server order elsewhere. */
  order?: ReadOrder;
  batchSize: number;
  pollIntervalMs: number;
  untilCaughtUp: boolean;
  canonical: boolean;
  logInterval: number;
  log: Logger;
  signal: AbortSignal;
  retry?: BackoffOptions;
}

/** What the checkpoint file holds. Positions are canonical Extended JSON, so their BSON type survives. */
export interface MongoToKafkaCheckpoint {
  version: 1;
  source: string;
  topic: string;
  field: string;
  /** Field value of the last document Kafka acknowledged; null before the first. */
  position: string | null;
  /** A batch sent but not known to be acknowledged: the field value of its last document. */
  pending: { upTo: string; count: number } | null;
  updated_at: string;
}

export interface MongoToKafkaSummary {
  read: number;
  produced: number;
  /** Messages of a batch a previous run sent without seeing the acknowledgement: possible duplicates. */
  resent: number;
  bytes: number;
  elapsedMs: number;
  messagesPerSec: number;
  position: string | null;
  stoppedBy: "caught-up" | "signal";
}

const DEFAULT_RETRY: BackoffOptions = { initialMs: 250, maxMs: 10_000 };

export async function mongoToKafka(options: MongoToKafkaOptions): Promise<MongoToKafkaSummary> {
  const { log } = options;
  const file = checkpointFile<MongoToKafkaCheckpoint>(options.checkpointPath);
  const source = `${options.database}.${options.collection}`;
  const saved = file.read();
  if (saved) checkCheckpoint(saved, options, source);

  const mongoClient = createMongoClient(options.mongo, { timeoutMs: 10_000, appName: "mongo2kafka" });
  const kafka = createKafka(options.kafka, log);
  let producer: Producer | undefined;
  try {
    try {
      await mongoClient.connect();
    } catch (error) {
      throw new Error(`cannot reach MongoDB ${describeMongo(options.mongo)}: ${errorMessage(error)}`);
    }
    await createTopicIfMissing(kafka, options.topic);
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const collection = mongoClient.db(options.database).collection(options.collection);
    const order = options.order ?? (await defaultOrder(mongoClient.db("admin")));
    log.info("polling", { field: options.field, order, delay_ms: options.delayMs });
    return await pollLoop({ options, collection, order, producer, file, source, saved });
  } finally {
    await producer?.disconnect().catch(() => {});
    await mongoClient.close().catch(() => {});
  }
}

async function createTopicIfMissing(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopic(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

interface LoopContext {
  options: MongoToKafkaOptions;
  collection: Collection<Document>;
  order: ReadOrder;
  producer: Producer;
  file: CheckpointFile<MongoToKafkaCheckpoint>;
  source: string;
  saved: MongoToKafkaCheckpoint | undefined;
}

async function pollLoop({ options, collection, order, producer, file, source, saved }: LoopContext): Promise<MongoToKafkaSummary> {
  const { log, signal, field } = options;
  const toMessage = mongoMessage({ canonical: options.canonical });
  const counts = { read: 0, produced: 0, resent: 0 };
  const progress = createProgress({
    logger: log,
    everyMessages: options.logInterval,
    everyMs: 10_000,
    fields: () => ({ produced: counts.produced, resent: counts.resent }),
  });
  const retrying = <R>(what: string, attempt: () => Promise<R>) => retry(what, attempt, options);
  const save = (position: string | null, pending: MongoToKafkaCheckpoint["pending"]) =>
    file.write({ version: 1, source, topic: options.topic, field, position, pending, updated_at: new Date().toISOString() });

  let position = saved?.position ?? null;
  let pending = saved?.pending ?? null;
  if (!saved) {
    if (options.initial === "none") {
      const newest = await retrying("read the newest document", () => latestValue(collection, field));
      position = newest === undefined ? null : encodePosition(newest);
    }
    save(position, null);
    log.info("new checkpoint", { file: file.path, initial: options.initial, position });
  } else {
    log.info("resuming from checkpoint", { file: file.path, position, pending: pending?.count ?? 0 });
  }

  /** A value of the field, for its type (the delay needs it); from the checkpoint or the collection. */
  let sample: unknown = position === null ? undefined : decodePosition(position);
  let sampleChecked = false;
  /** With untilCaughtUp: when a read first found nothing; the run ends once every older document is sent. */
  let caughtUpFrom: number | undefined;

  let stoppedBy: MongoToKafkaSummary["stoppedBy"] | undefined;
  while (!stoppedBy) {
    if (signal.aborted) {
      stoppedBy = "signal";
      break;
    }
    const after = position === null ? undefined : decodePosition(position);
    // After a crash, first exactly the range that may or may not have reached Kafka.
    const resending = pending;
    const upTo = resending ? decodePosition(resending.upTo) : undefined;
    if (sample === undefined && options.delayMs > 0) sample = await retrying("read a document", () => sampleValue(collection, field));
    if (sample !== undefined && !sampleChecked) {
      sampleChecked = true;
      if (options.delayMs > 0 && horizon(sample, 0, 0) === undefined) {
        log.warn("the field holds no time, so no delay protects against gaps: its values must become visible in increasing order", { field });
      }
    }
    const readAt = Date.now();
    const before = resending || options.delayMs <= 0 ? undefined : horizon(sample, readAt, options.delayMs);
    const query = { field, after, upTo, before, limit: options.batchSize };
    const documents = await retrying("read from MongoDB", () => readAfter(collection, query, order));
    if (documents === undefined) continue;
    if (documents.length === 0 && !resending) {
      if (options.untilCaughtUp) {
        caughtUpFrom ??= readAt;
        // A second past it, as ObjectIds hold whole seconds.
        const coveredAll = before === undefined || compareValues(before, horizon(sample, caughtUpFrom + 1000, 0)) >= 0;
        const newer = coveredAll ? undefined : await retrying("look for newer documents", () => collection.findOne(batchFilter({ field, after })));
        if (coveredAll || newer === null) {
          stoppedBy = "caught-up";
          continue;
        }
      }
      await sleep(options.pollIntervalMs, signal);
      continue;
    }
    for (let start = 0; start < documents.length && !signal.aborted; start += options.batchSize) {
      const batch = documents.slice(start, start + options.batchSize);
      const last = encodePosition(fieldValue(batch[batch.length - 1]!, field));
      const messages = batch.map(toMessage);
      const bytes = messages.reduce((sum, m) => sum + m.key.length + m.value.length, 0);
      if (!resending) save(position, { upTo: last, count: batch.length });
      const sent = await retrying(`send to ${options.topic}`, () => producer.send({ topic: options.topic, acks: -1, messages }));
      if (sent === undefined) break;
      counts.read += batch.length;
      counts.produced += batch.length;
      if (resending) counts.resent += batch.length;
      position = last;
      save(position, resending);
      progress.record(batch.length, bytes);
    }
    // A server-ordered read stops at the limit; the re-sent range may go on past it.
    const rangeDone = order === "client" || documents.length < options.batchSize || position === resending?.upTo;
    if (resending && rangeDone && !signal.aborted) {
      pending = null;
      save(position, null);
    }
  }
  const totals = progress.stop();
  return {
    ...counts,
    bytes: totals.bytes,
    elapsedMs: totals.elapsedMs,
    messagesPerSec: totals.messagesPerSec,
    position,
    stoppedBy,
  };
}

/** Runs `attempt` until it succeeds, backing off between failures; undefined once the run is stopped. */
async function retry<R>(what: string, attempt: () => Promise<R>, options: MongoToKafkaOptions): Promise<R | undefined> {
  for (let failures = 0; ; failures++) {
    if (options.signal.aborted) return undefined;
    try {
      const value = await attempt();
      if (failures > 0) options.log.info(`${what} succeeded again`, { after_attempts: failures + 1 });
      return value;
    } catch (error) {
      if (!isRetriable(error)) throw error;
      const delay = backoffDelay(failures, options.retry ?? DEFAULT_RETRY);
      options.log.warn(`${what} failed; retrying`, { attempt: failures + 1, retry_in_ms: delay, error: errorMessage(error) });
      await sleep(delay, options.signal);
    }
  }
}

/** Outages of either end are waited out; a refusal (authorization, a bad query) is not. */
function isRetriable(error: unknown): boolean {
  const e = error as { retriable?: boolean; name?: string; hasErrorLabel?: (label: string) => boolean };
  // kafkajs marks errors worth retrying, and gives up on them with KafkaJSNumberOfRetriesExceeded.
  if (e?.retriable === true || e?.name === "KafkaJSNumberOfRetriesExceeded") return true;
  if (e?.name && /^Mongo(Network|ServerSelection|NotConnected|TopologyClosed)Error$/.test(e.name)) return true;
  return typeof e?.hasErrorLabel === "function" && (e.hasErrorLabel("RetryableError") || e.hasErrorLabel("ResetPool"));
}

function checkCheckpoint(saved: MongoToKafkaCheckpoint, options: MongoToKafkaOptions, source: string): void {
  const mismatch =
    saved.version !== 1
      ? `version ${saved.version}`
      : saved.field !== options.field
        ? `field ${saved.field}, not --since-field ${options.field}`
        : saved.topic !== options.topic
          ? `topic ${saved.topic}, not ${options.topic}`
          : saved.source !== source
            ? `source ${saved.source}, not ${source}`
            : undefined;
  if (mismatch) throw new ConfigError(`--checkpoint ${options.checkpointPath}: written for ${mismatch}; pass another --checkpoint to start a new one`);
}
