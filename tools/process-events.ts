/**
 * process-events: validate, fill defaults, filter, hash, format and summarize
 * events from one topic into processed, error, filtered and summary topics,
 * exactly once (seeds 001 and 004). See --help.
 */
import { defineTool, type FlagName, type Flags } from "../lib/cli/flags.ts";
import { PIPELINE_OPTIONS, pipelineRunFlags } from "../lib/cli/pipeline-flags.ts";
import { startToolMetrics } from "../lib/metrics/tool-metrics.ts";
import { runTool, type ToolContext } from "../lib/cli/run.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { UsageError } from "../lib/errors.ts";
import { buildEventSteps, decodeFormat, loadPipelineFile } from "../lib/processors/pipeline-file.ts";
import { avroEventDecoder } from "../lib/processors/decode.ts";
import { AVRO_OPTIONS, avroDecoderFromFlags, registryFromFlags } from "../lib/avro/flags.ts";
import { ConfigError, errorMessage } from "../lib/errors.ts";
import type { EventEncoder } from "../lib/processors/event-outputs.ts";
import { readFileSync } from "node:fs";

const DEFAULT_PIPELINE = "config/pipelines/user-login.json";
const DEFAULT_OUTPUT_SCHEMA = "schemas/user_login_processed.avsc";
const DEFAULT_BATCH_SIZE = 1000;

const spec = defineTool({
  name: "process-events",
  summary: "Validate, clean, hash and summarize events into output topics, exactly once.",
  description: [
    "Each input message ends as exactly one of: processed (the cleaned event as JSON, same key,",
    "headers x-source-topic/-partition/-offset), filtered (counted; its original bytes go to the",
    "filtered topic when one is set) or error (original bytes and key to the errors topic, with",
    "x-dlq-reason, x-dlq-stage and the source in headers, as in a dead-letter topic).",
    "The steps come from a pipeline file (config/pipelines/*.json): decode, require, validate,",
    "defaults, filter, hash (sha256, or hmac-sha256 with the key from the file or key_env), timestamp,",
    "rename, drop. Summaries count every --summary-every input messages of each input partition",
    "(processed, filtered, errors and value counts) with the offsets they cover; a stopping run",
    "flushes its partial windows. Open windows live in the committed offsets' metadata.",
    "--delivery exactly-once (default): outputs, errors, summaries and input offsets commit in one",
    "Kafka transaction per chunk, one transactional id per input partition, so a member that lost",
    "its partition is fenced (see the README). Read the outputs with read_committed (verify-topic does).",
    "--delivery at-least-once: no transactions; a crash may repeat a chunk's outputs.",
    "--value-format avro decodes Confluent-framed Avro with the writer schema from the Schema Registry",
    "([schema_registry]) or --avro-schema files; --output-format avro writes processed events as",
    "Confluent-framed Avro with --output-schema, registered under --output-subject (or framed with",
    "--output-schema-id N, without a registry). Filtered and error outputs keep the input's bytes.",
  ],
  options: {
    pipeline: { type: "string", value: "FILE", description: "Pipeline file", defaultText: DEFAULT_PIPELINE },
    in: { type: "string", value: "T", description: "Input topic", defaultText: "the pipeline's input.topic" },
    out: { type: "string", value: "T", description: "Processed events topic", defaultText: "the pipeline's outputs.processed" },
    "errors-topic": { type: "string", value: "T", description: "Errors topic", defaultText: "outputs.errors" },
    "filtered-topic": { type: "string", value: "T", description: "Filtered messages topic, or none", defaultText: "outputs.filtered" },
    "summary-topic": { type: "string", value: "T", description: "Summary topic, or none", defaultText: "outputs.summary" },
    "summary-every": { type: "string", value: "N", description: "Input messages per summary and partition", defaultText: "summary.every (1000)" },
    kafka: { type: "string", value: "SECTION", description: "Kafka section to read from", defaultText: "local_kafka" },
    "to-kafka": { type: "string", value: "SECTION", description: "Kafka section to write to (at-least-once only if another cluster)", defaultText: "--kafka" },
    delivery: { type: "string", value: "MODE", description: "exactly-once or at-least-once", defaultText: "exactly-once" },
    "value-format": { type: "string", value: "F", description: "Input values: json or avro", defaultText: "the pipeline's decode format" },
    "output-format": { type: "string", value: "F", description: "Processed events: json or avro", defaultText: "json" },
    "output-schema": { type: "string", value: "FILE", description: "Avro schema (.avsc) of processed events", defaultText: DEFAULT_OUTPUT_SCHEMA },
    "output-subject": { type: "string", value: "S", description: "Registry subject of --output-schema", defaultText: "<out>-value" },
    "output-schema-id": { type: "string", value: "N", description: "Frame output Avro with this schema id, without the registry" },
    ...AVRO_OPTIONS,
    ...PIPELINE_OPTIONS,
    group: { type: "string", value: "G", description: "Consumer group", defaultText: "process-events.<pipeline name>" },
    "batch-size": { type: "string", value: "N", description: "Most input messages per transaction", defaultText: String(DEFAULT_BATCH_SIZE) },
    "session-timeout-ms": { type: "string", value: "MS", description: "How long a silent member keeps its partitions", defaultText: "30000" },
  },
  examples: [
    "bun tools/process-events.ts --config config/local-stack.ini --until-caught-up",
    "bun tools/process-events.ts --pipeline config/pipelines/user-login.json --filtered-topic cleaned-data --from-beginning",
    "bun tools/process-events.ts --in logins --out logins.clean --errors-topic logins.errors --summary-topic none",
    "bun tools/process-events.ts --delivery at-least-once --to-kafka remote_kafka --max-messages 10000",
    "bun tools/process-events.ts --value-format avro --output-format avro --until-caught-up   # seed 001 with the registry",
    "bun tools/process-events.ts --value-format avro --avro-schema schemas/user_login.avsc --until-caught-up",
    "bun tools/process-events.ts --metrics :9467   # Prometheus: processed = written, errors = dead-lettered, filtered = skipped",
  ],
});

await runTool(spec, async (flags, ctx) => {
  const { fromBeginning, window, settings } = pipelineRunFlags(flags, { batchSize: DEFAULT_BATCH_SIZE });
  // Errors are one of the three outcomes of every message, not a failure to stop at.
  if (settings.onError === "stop") throw new UsageError("--on-error stop does not apply to process-events: bad messages are its errors output (--errors-topic)");
  const delivery = flags.choice("delivery", ["exactly-once", "at-least-once"] as const, "exactly-once");
  const sessionTimeoutMs = flags.int("session-timeout-ms", 30_000, { min: 6_000, max: 300_000 });
  const pipeline = loadPipelineFile(flags.string("pipeline", DEFAULT_PIPELINE));
  const valueFormat = flags.has("value-format") ? flags.choice("value-format", ["json", "avro"] as const, "json") : undefined;
  const avro = decodeFormat(pipeline, valueFormat) === "avro" ? await avroDecoderFromFlags(flags, ctx.config, ctx.signal) : undefined;
  if (!avro && flags.has("avro-schema")) throw new UsageError("--avro-schema needs --value-format avro (or a pipeline that decodes avro)");
  const steps = buildEventSteps(pipeline, { env: process.env, format: valueFormat, decoders: avro && { avro: avroEventDecoder(avro) } });
  const summaryEvery = flags.int("summary-every", pipeline.summary.every, { min: 1 });
  const orNone = (name: "filtered-topic" | "summary-topic", fallback: string | null) => {
    const value = flags.string(name);
    if (value === undefined) return fallback;
    if (value.trim() === "") throw new UsageError(`--${name} must not be empty (use 'none' for no such output)`);
    return value === "none" ? null : value;
  };
  const outputs = {
    processed: flags.string("out", pipeline.outputs.processed),
    errors: flags.string("errors-topic", pipeline.outputs.errors),
    filtered: orNone("filtered-topic", pipeline.outputs.filtered),
    summary: orNone("summary-topic", pipeline.outputs.summary),
  };
  const inputTopic = flags.string("in", pipeline.input.topic);
  const config = ctx.config();
  const kafka = kafkaSection(config, flags.string("kafka", "local_kafka"));
  const toKafka = flags.has("to-kafka") ? kafkaSection(config, flags.string("to-kafka", "")) : kafka;
  const groupId = flags.string("group") ?? `process-events.${pipeline.name}`;

  const outputFormat = flags.choice("output-format", ["json", "avro"] as const, "json");
  for (const avroOnly of ["output-schema", "output-subject", "output-schema-id"] as const) {
    if (outputFormat !== "avro" && flags.has(avroOnly)) throw new UsageError(`--${avroOnly} needs --output-format avro`);
  }
  const encode = outputFormat === "avro" ? await processedAvroEncoder(flags, ctx, outputs.processed) : undefined;

  const metrics = await startToolMetrics({ address: flags.string("metrics"), tool: spec.name, log: ctx.log });
  ctx.log.info("starting", { pipeline: pipeline.file, in: inputTopic, ...outputs, group: groupId, delivery, kafka: kafka.name, to_kafka: toKafka.name });
  const { processEvents } = await import("../lib/jobs/process-events.ts");
  const summary = await processEvents({
    run: { ...settings, log: ctx.log, signal: ctx.signal },
    fromBeginning,
    window,
    kafka,
    toKafka,
    inputTopic,
    outputs,
    steps,
    prepare: avro && ((records) => avro.prepare(records.map((r) => r.value))),
    encode,
    summary: { every: summaryEvery, count: pipeline.summary.count },
    groupId,
    delivery,
    sessionTimeoutMs,
    ...metrics.pipelineHooks({ sink: "kafka", topics: [inputTopic] }),
  }).finally(() => metrics.close());

  const report = {
    consumed: summary.consumed,
    processed: summary.processed,
    filtered: summary.filtered,
    errors: summary.errors,
    summaries: summary.summaries,
    committed: summary.committed,
    messages_per_sec: summary.messagesPerSec,
    elapsed_ms: Math.round(summary.elapsedMs),
    remaining_lag: summary.lag ?? null,
    stopped_by: summary.stoppedBy,
    delivery,
  };
  ctx.log.info("summary", report);
  process.stdout.write(
    flags.bool("json")
      ? JSON.stringify(report) + "\n"
      : `consumed ${report.consumed}: processed ${report.processed}, filtered ${report.filtered}, errors ${report.errors}; ` +
          `${report.summaries} summaries, ${report.messages_per_sec} msg/s, remaining lag ${report.remaining_lag ?? "unknown"} ` +
          `(${delivery}, stopped by ${report.stopped_by})\n`,
  );
  if (summary.stoppedBy === "error") {
    ctx.log.error("stopped by an error", { error: String(summary.error?.message ?? summary.error) });
    return 1;
  }
  return 0;
});

/** Processed events as Confluent-framed Avro: --output-schema, registered under --output-subject unless --output-schema-id is given. */
async function processedAvroEncoder(flags: Flags<FlagName<typeof spec>>, ctx: ToolContext, out: string): Promise<EventEncoder> {
  const file = flags.string("output-schema", DEFAULT_OUTPUT_SCHEMA);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`--output-schema ${file}: cannot read it: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`);
  }
  const { avroType } = await import("../lib/avro/types.ts");
  const { avroEncoding } = await import("../lib/avro/encoding.ts");
  let type;
  try {
    type = avroType(text);
  } catch (error) {
    throw new ConfigError(`--output-schema ${file}: ${errorMessage(error)}`);
  }
  let id = flags.int("output-schema-id", undefined, { min: 0, max: 2 ** 31 - 1 });
  if (id === undefined) {
    const registry = registryFromFlags(flags, ctx.config, ctx.signal);
    const subject = flags.string("output-subject") ?? `${out}-value`;
    id = (await registry.register(subject, JSON.stringify(JSON.parse(text)))).id;
    ctx.log.info("output schema registered", { registry: registry.url, subject, schema_id: id });
  }
  return avroEncoding(type, id).encode;
}
