/**
 * Kafka → SQL: the job behind tools/kafka2sql.ts. Opens the SQLite file or
 * connects to PostgreSQL (creating the table when missing), runs the engine
 * with the row processor and the dialect's sink, and always closes both ends.
 *
 * @example
 * const summary = await kafkaToSql({ kafka, target, table, topic: "logins", groupId: "g",
 *   dlqTopic: "logins.dlq", fromBeginning: false,
 *   run: { onError: "dlq", batchSize: 500, logInterval: 1000, untilCaughtUp: true, log, signal } });
 */
import type { KafkaSection } from "../config/kafka-section.ts";
import { describeSqlTarget, type SqlSection } from "../config/sql-section.ts";
import type { DeadLetterTopic } from "../engine/dead-letter.ts";
import { openDeadLetterTopic } from "../sinks/dead-letter-topic.ts";
import type { EngineEvents } from "../engine/events.ts";
import { runPipeline, type PipelineSummary, type RunSettings } from "../engine/pipeline.ts";
import type { Sink } from "../engine/sink.ts";
import type { Source } from "../engine/source.ts";
import { errorMessage } from "../errors.ts";
import { createKafka } from "../kafka/client.ts";
import { sqlRowProcessor, type SqlRow } from "../processors/sql-row.ts";
import { openPostgresSink, PostgresSchemaError } from "../sinks/postgres.ts";
import { openSqliteWorkerSink } from "../sinks/sqlite-worker.ts";
import { openKafkaSource } from "../sources/kafka.ts";
import type { ReplayWindow } from "../kafka/replay-window.ts";
import type { TableSpec } from "../sql/table.ts";

export interface KafkaToSqlOptions {
  run: RunSettings;
  /** Instrumentation (metrics); see lib/engine/events.ts. */
  events?: EngineEvents;
  kafka: KafkaSection;
  target: SqlSection;
  table: TableSpec;
  topic: string;
  groupId: string;
  dlqTopic: string;
  fromBeginning: boolean;
  /** --from-time/--to-time: replay only this window, then stop. */
  window?: ReplayWindow;
}

export async function kafkaToSql(options: KafkaToSqlOptions): Promise<PipelineSummary> {
  const { log } = options.run;
  const sink = await openSqlSink(options.target, options.table);
  const kafka = createKafka(options.kafka, log);
  let source: Source | undefined;
  let deadLetters: DeadLetterTopic | undefined;
  try {
    source = await openKafkaSource({
      kafka,
      groupId: options.groupId,
      topics: [options.topic],
      resetToEarliest: options.fromBeginning,
      window: options.window,
      log,
      name: `kafka [${options.kafka.name}]`,
    });
    if (options.run.onError === "dlq") deadLetters = await openDeadLetterTopic(kafka, options.dlqTopic, log);
    return await runPipeline({
      source,
      processor: sqlRowProcessor({ table: options.table, consumerGroup: options.groupId }),
      sink,
      deadLetters,
      events: options.events,
      ...options.run,
    });
  } finally {
    const closeFailed = (what: string) => (error: unknown) => log.warn(`closing ${what} failed`, { error: errorMessage(error) });
    await source?.close().catch(closeFailed("the consumer"));
    await deadLetters?.close().catch(closeFailed("the dead-letter producer"));
    await sink.close().catch(closeFailed("the database"));
  }
}

/** The sink for a target; a server that cannot be reached is one clear line. */
export async function openSqlSink(target: SqlSection, table: TableSpec): Promise<Sink<SqlRow>> {
  if (target.kind === "sqlite") {
    try {
      return await openSqliteWorkerSink(target.path, table);
    } catch (error) {
      throw new Error(`cannot open ${describeSqlTarget(target)}: ${errorMessage(error)}`, { cause: error });
    }
  }
  try {
    return await openPostgresSink(target, table);
  } catch (error) {
    if (error instanceof PostgresSchemaError) throw error;
    throw new Error(`cannot reach ${describeSqlTarget(target)}: ${errorMessage(error)}`, { cause: error });
  }
}
