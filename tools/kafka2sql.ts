/**
 * kafka2sql: land a Kafka topic in a SQL table (SQLite or PostgreSQL), one
 * row per message with its Kafka metadata, at least once, without loss or
 * duplicate rows.
 */
import { runTool } from "../lib/cli/run.ts";
import { defineTool } from "../lib/cli/flags.ts";
import { PIPELINE_OPTIONS, pipelineRunFlags } from "../lib/cli/pipeline-flags.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { describeSqlTarget, sqlSection } from "../lib/config/sql-section.ts";
import { reportSummary } from "../lib/cli/summary.ts";
import { startToolMetrics } from "../lib/metrics/tool-metrics.ts";
import { UsageError } from "../lib/errors.ts";
import { parseColumns, tableSpec } from "../lib/sql/table.ts";

const spec = defineTool({
  name: "kafka2sql",
  summary: "Land a Kafka topic in a SQLite or PostgreSQL table, one row per message.",
  description: [
    "Rows go to `processed_messages` (or --table): id, topic, partition, offset, message_key,",
    "message_value, message_headers, message_timestamp, consumer_group, processing_timestamp,",
    "processing_status, error_message, plus the typed columns of --columns. The table is created",
    "when missing, unique on (topic, partition, offset), so a redelivered message is counted as",
    "a duplicate, never a second row. Each chunk is one transaction; offsets are committed only",
    "after their rows are committed or their messages are in the dead-letter topic.",
    "--sql picks a config section: [sqlite] (path) or [postgres] (host, port, user, password,",
    "database, ssl, or url); a `type = sqlite|postgres` key settles the kind explicitly.",
  ],
  options: {
    topic: { type: "string", value: "T", description: "Topic to consume", defaultText: "[section] default_consumer_topic" },
    kafka: { type: "string", value: "SECTION", description: "Kafka section of the config", defaultText: "local_kafka" },
    sql: { type: "string", value: "SECTION", description: "SQL target section of the config", defaultText: "sqlite" },
    table: { type: "string", value: "NAME", description: "Table (name, or schema.name on PostgreSQL)", defaultText: "processed_messages" },
    columns: {
      type: "string",
      value: "SPEC",
      description: "Typed columns from top-level JSON fields: field:type,... with types text, integer, bigint, double, boolean, timestamp, json",
    },
    "value-format": {
      type: "string",
      value: "F",
      description: "json: message_value must be JSON (JSONB on PostgreSQL), others are dead-lettered; text: any UTF-8",
      defaultText: "json",
    },
    ...PIPELINE_OPTIONS,
    "dlq-topic": { type: "string", value: "T", description: "Dead-letter topic", defaultText: "<topic>.dlq" },
  },
  examples: [
    "bun tools/kafka2sql.ts --topic logins --until-caught-up",
    "bun tools/kafka2sql.ts --topic logins --group replay-0900 --from-time 2025-03-18T09:00:00Z --to-time 2025-03-18T10:00:00Z",
    "bun tools/kafka2sql.ts --sql postgres --topic logins --columns user_id:text,timestamp:bigint,success:boolean",
    "bun tools/kafka2sql.ts --sql postgres --table landing.orders --topic orders --group orders-pg --max-messages 10000",
    "deno run -A tools/kafka2sql.ts --sql sqlite --topic logins --until-caught-up   # same tool under Deno",
    "bun tools/kafka2sql.ts --sql postgres --topic logins --metrics :9466   # Prometheus scrapes http://host:9466/metrics",
  ],
});

await runTool(spec, async (flags, ctx) => {
  const { fromBeginning, window, settings } = pipelineRunFlags(flags);
  const valueFormat = flags.choice("value-format", ["json", "text"] as const, "json");
  const table = tableSpec(flags.string("table", "processed_messages"), parseColumns(flags.string("columns")), valueFormat);
  if (table.typed.length && valueFormat === "text") throw new UsageError("--columns needs --value-format json");
  const kafka = kafkaSection(ctx.config(), flags.string("kafka", "local_kafka"));
  const target = sqlSection(ctx.config(), flags.string("sql", "sqlite"));

  const topic = flags.string("topic") ?? kafka.defaultConsumerTopic;
  const groupId = flags.string("group") ?? kafka.defaultGroupId;
  if (!topic) throw new UsageError(`--topic is required ([${kafka.name}] has no default_consumer_topic)`);
  if (!groupId) throw new UsageError(`--group is required ([${kafka.name}] has no default_consumer_group_id)`);

  const where = `${describeSqlTarget(target)} ${table.name}`;
  const metrics = await startToolMetrics({ address: flags.string("metrics"), tool: spec.name, log: ctx.log });
  ctx.log.info("starting", { topic, group: groupId, target: where, on_error: settings.onError, columns: table.typed.length });
  // Loaded after the flags are parsed: the drivers take longer to load than --help to answer.
  const { kafkaToSql } = await import("../lib/jobs/kafka-to-sql.ts");
  const summary = await kafkaToSql({
    kafka,
    target,
    table,
    topic,
    groupId,
    dlqTopic: flags.string("dlq-topic") ?? `${topic}.dlq`,
    fromBeginning,
    window,
    run: { ...settings, log: ctx.log, signal: ctx.signal },
    ...metrics.pipelineHooks({ sink: target.kind, topics: [topic] }),
  }).finally(() => metrics.close());
  reportSummary(summary, { log: ctx.log, json: flags.bool("json"), written: "inserted", extra: { table: where } });
  if (summary.error) throw summary.error;
  return 0;
});
