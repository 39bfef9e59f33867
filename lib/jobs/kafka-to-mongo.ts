/**
 * Kafka → MongoDB: the job behind tools/kafka2mongo.ts. Connects both ends,
 * runs the engine with the document processor and the MongoDB sink, and
 * always disconnects, whatever happened.
 *
 * @example
 * const summary = await kafkaToMongo({ kafka, mongo, topic: "logins", groupId: "g", database: "toolkit",
 *   collection: "raw", dlqTopic: "logins.dlq", idStrategy: "offset", valueFormat: "json", fromBeginning: false,
 *   run: { onError: "dlq", batchSize: 500, logInterval: 1000, untilCaughtUp: true, log, signal } });
 */
import type { KafkaSection } from "../config/kafka-section.ts";
import type { MongoSection } from "../config/mongo-section.ts";
import type { DeadLetterTopic } from "../engine/dead-letter.ts";
import { openDeadLetterTopic } from "../sinks/dead-letter-topic.ts";
import type { EngineEvents } from "../engine/events.ts";
import { runPipeline, type PipelineSummary, type RunSettings } from "../engine/pipeline.ts";
import type { Source } from "../engine/source.ts";
import { errorMessage } from "../errors.ts";
import { createKafka } from "../kafka/client.ts";
import { createMongoClient, describeMongo } from "../mongo/client.ts";
import type { AvroDecoder } from "../avro/decoder.ts";
import { kafkaDocumentPrepare, kafkaDocumentProcessor, type IdStrategy, type KeyFormat, type ValueFormat } from "../processors/kafka-document.ts";
import { mongoSink } from "../sinks/mongo.ts";
import { mongoUpsertSink } from "../sinks/mongo-upsert.ts";
import { ensureIndexes } from "../mongo/indexes.ts";
import { mongoWriteProcessor } from "../processors/mongo-write.ts";
import { openKafkaSource } from "../sources/kafka.ts";
import type { ReplayWindow } from "../kafka/replay-window.ts";

export interface KafkaToMongoOptions {
  run: RunSettings;
  /** Instrumentation (metrics); see lib/engine/events.ts. */
  events?: EngineEvents;
  kafka: KafkaSection;
  mongo: MongoSection;
  topic: string;
  groupId: string;
  database: string;
  collection: string;
  dlqTopic: string;
  idStrategy: IdStrategy;
  valueFormat: ValueFormat;
  keyFormat?: KeyFormat;
  /** Required when a format is "avro". */
  avro?: AvroDecoder;
  fromBeginning: boolean;
  /** --from-time/--to-time: replay only this window, then stop. */
  window?: ReplayWindow;
  /** insert: a message is a new document (a redelivered _id is a duplicate); upsert: it replaces the document with its _id. */
  writeMode: "insert" | "upsert";
  /** Fields to index (ascending), created at start if missing. */
  indexes: string[];
}

export async function kafkaToMongo(options: KafkaToMongoOptions): Promise<PipelineSummary> {
  const { log } = options.run;
  const mongoClient = createMongoClient(options.mongo, { timeoutMs: 10_000, appName: "kafka2mongo" });
  const kafka = createKafka(options.kafka, log);
  let source: Source | undefined;
  let deadLetters: DeadLetterTopic | undefined;
  try {
    try {
      await mongoClient.connect();
    } catch (error) {
      throw new Error(`cannot reach MongoDB ${describeMongo(options.mongo)}: ${errorMessage(error)}`);
    }
    source = await openKafkaSource({
      kafka,
      groupId: options.groupId,
      topics: [options.topic],
      resetToEarliest: options.fromBeginning,
      window: options.window,
      log,
      name: `kafka [${options.kafka.name}]`,
    });
    const collection = mongoClient.db(options.database).collection(options.collection);
    if (options.indexes.length) {
      try {
        log.info("indexes ready", { indexes: await ensureIndexes(collection, options.indexes) });
      } catch (error) {
        throw new Error(`cannot create indexes ${options.indexes.join(",")} on ${options.database}.${options.collection}: ${errorMessage(error)}`);
      }
    }
    if (options.run.onError === "dlq") deadLetters = await openDeadLetterTopic(kafka, options.dlqTopic, log);
    const documents = {
      idStrategy: options.idStrategy,
      valueFormat: options.valueFormat,
      keyFormat: options.keyFormat,
      avro: options.avro,
    };
    if (options.writeMode === "upsert") {
      return await runPipeline({
        source,
        processor: mongoWriteProcessor(documents),
        prepare: kafkaDocumentPrepare(documents),
        sink: mongoUpsertSink(collection),
        deadLetters,
        events: options.events,
        ...options.run,
        // One write at a time: a later message for a key must never land before an earlier one.
        sinkConcurrency: 1,
      });
    }
    return await runPipeline({
      source,
      processor: kafkaDocumentProcessor(documents),
      prepare: kafkaDocumentPrepare(documents),
      sink: mongoSink(collection),
      deadLetters,
      events: options.events,
      ...options.run,
    });
  } finally {
    const closeFailed = (what: string) => (error: unknown) => log.warn(`closing ${what} failed`, { error: errorMessage(error) });
    await source?.close().catch(closeFailed("the consumer"));
    await deadLetters?.close().catch(closeFailed("the dead-letter producer"));
    await mongoClient.close().catch(closeFailed("the MongoDB client"));
  }
}
