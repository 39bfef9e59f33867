/**
 * topic-cat: kcat-style ad-hoc reading and writing of a topic. Consume mode
 * prints messages from chosen positions (offsets, -N from the end, times);
 * --produce writes lines or JSON envelopes. See --help.
 */
import { defineTool } from "../lib/cli/flags.ts";
import { runTool } from "../lib/cli/run.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { UsageError } from "../lib/errors.ts";
import { AVRO_OPTIONS, avroDecoderFromFlags } from "../lib/avro/flags.ts";
import { COMPRESSION_NAMES } from "../lib/kafka/compression-names.ts";
import { parseOffsetSpec, parseTime, type RangeSpec } from "../lib/kafka/positions.ts";
import { avroValueDecoder, compileTemplate, jsonValueDecoder, messageRenderer } from "../lib/inspect/message-format.ts";
import { lineParser, parseHeadersFlag } from "../lib/produce/line-input.ts";

const spec = defineTool({
  name: "topic-cat",
  summary: "Read or write a topic from the command line, like kcat.",
  description: [
    "Consume mode (the default) prints the messages of a topic from a position to its end at the",
    "start (kcat -e), or on and on with --follow. Positions are per partition: --offset beginning,",
    "end, N, or -N (the last N of each partition); --from-time and --to-time (ISO-8601, UTC unless",
    "a zone is given, or epoch ms) read each partition from the first message at or after the",
    "from time up to the first at or after the to time, using the broker's offsets for times.",
    "Reads are read_committed (aborted transactions never show) and decode every codec.",
    "",
    "No consumer group by default: a throwaway group is joined, nothing is committed, and it is",
    "deleted afterwards. --group G reads as G instead: from its committed offsets (or --offset,",
    "--from-time), committing what was printed.",
    "",
    "--format json prints one envelope a line: topic, partition, offset, timestamp, key, value,",
    "headers (a list of [name, value] pairs, in order). Keys, values and header values are text",
    "when valid UTF-8 and {\"base64\": \"...\"} otherwise. --value-format json|avro puts the decoded",
    "value there instead (value_format says so). --format value prints raw values, one a line;",
    "any other --format is a kcat -f template: %t topic, %p partition, %o offset, %k key, %K key",
    "length, %s value, %S value length, %R value length as 4 big-endian bytes, %T timestamp,",
    "%h headers (name=value,...), %% a percent sign; escapes \\n \\r \\t \\\\ \\xHH. As in kcat,",
    "end a template with \\n.",
    "",
    "--produce writes stdin (or --file), one message a line: the whole line as the value, or",
    "key<delim>value with --key-delimiter; --headers adds headers to each. --format json reads",
    "envelopes as consume mode prints them, keeping partition, timestamp, key, value and",
    "headers, so a dump replays byte-exact into another topic. The producer is idempotent",
    "(acks=all); the counts are printed at the end.",
    "",
    "Logs go to stderr, messages to stdout. Exits 0 at the end, 1 on a runtime error, 2 on usage.",
  ],
  options: {
    topic: { type: "string", short: "t", value: "T", description: "Topic (required)" },
    kafka: { type: "string", value: "SECTION", description: "Kafka section of the config", defaultText: "local_kafka" },
    partition: { type: "string", short: "p", value: "P", description: "Only this partition (consume), or every message to it (produce)" },
    offset: { type: "string", short: "o", value: "POS", description: "Start: beginning, end, N, or -N from the end of each partition", defaultText: "beginning" },
    "from-time": { type: "string", value: "TIME", description: "Start at the first message at or after TIME (ISO-8601 or epoch ms)" },
    "to-time": { type: "string", value: "TIME", description: "Stop before the first message at or after TIME" },
    count: { type: "string", short: "c", value: "N", description: "Stop after N messages in all" },
    follow: { type: "boolean", description: "Keep reading new messages after the end (Ctrl-C stops)" },
    format: { type: "string", short: "f", value: "F", description: "json, value, or a kcat -f template", defaultText: "json; value (plain lines) with --produce" },
    "value-format": { type: "string", value: "F", description: "Decode values: json, or avro (Confluent-framed)" },
    ...AVRO_OPTIONS,
    group: { type: "string", short: "G", value: "G", description: "Read as this consumer group and commit (default: no group)" },
    "idle-timeout": {
      type: "string",
      value: "SECONDS",
      description: "Exit 1 when a read to the end makes no progress for this long",
      defaultText: "30",
    },
    produce: { type: "boolean", short: "P", description: "Produce lines from stdin or --file instead" },
    file: { type: "string", value: "PATH", description: "Produce the lines of this file" },
    "key-delimiter": { type: "string", short: "K", value: "D", description: "Produce: split each line into key D value at the first D" },
    headers: { type: "string", value: "K=V,...", description: "Produce: headers on every message" },
    compression: { type: "string", value: "C", description: `Produce: ${COMPRESSION_NAMES.join(", ")}`, defaultText: "none" },
  },
  examples: [
    "bun tools/topic-cat.ts -t logins -o -10                      # kcat -C -t logins -o -10 -e -J",
    "bun tools/topic-cat.ts -t logins --from-time 2025-03-18T09:00:00Z --to-time 2025-03-18T10:00:00Z",
    "bun tools/topic-cat.ts -t logins -p 2 -o 1500 -c 20 -f '%p@%o %k %s\\n'  # kcat -C -t logins -p 2 -o 1500 -c 20 -f ...",
    "bun tools/topic-cat.ts -t logins --format value --follow       # kcat -C -t logins",
    "bun tools/topic-cat.ts -t user-login --value-format avro -o -5  # kcat -s value=avro -r URL",
    "bun tools/topic-cat.ts -t logins -G ops-peek -o end --follow    # kcat -G ops-peek logins",
    "bun tools/topic-cat.ts -P -t logins -K : < lines.txt          # kcat -P -t logins -K :",
    "bun tools/topic-cat.ts -P -t logins --headers src=cli,env=dev --file lines.txt",
    "bun tools/topic-cat.ts -t orders > orders.jsonl && bun tools/topic-cat.ts -P -t orders-copy -f json --file orders.jsonl",
  ],
});

await runTool(spec, async (flags, ctx) => {
  const topic = flags.string("topic");
  if (!topic) throw new UsageError("--topic is required");
  const format = flags.string("format", flags.bool("produce") ? "value" : "json");
  const kafkaConfig = kafkaSection(ctx.config(), flags.string("kafka", "local_kafka"));
  const partition = flags.int("partition", undefined, { min: 0 });

  if (flags.bool("produce")) {
    for (const name of ["offset", "from-time", "to-time", "count", "follow", "group", "value-format"] as const) {
      if (flags.has(name)) throw new UsageError(`--${name} is for consume mode, not --produce`);
    }
    if (format !== "json" && format !== "value") throw new UsageError(`--produce reads --format value (lines) or json (envelopes), got '${format}'`);
    if (format === "json" && (flags.has("key-delimiter") || flags.has("headers"))) {
      throw new UsageError("--key-delimiter and --headers are for plain lines; an envelope carries its own key and headers");
    }
    const parse = lineParser({
      format: format === "json" ? "json" : "line",
      keyDelimiter: flags.string("key-delimiter"),
      headers: parseHeadersFlag(flags.string("headers", "")),
    });
    const compression = flags.choice("compression", COMPRESSION_NAMES, "none");
    const file = flags.string("file");
    const { produceLines } = await import("../lib/produce/produce-topic.ts");
    const counts = await produceLines({ kafka: kafkaConfig, topic, file, parse, partition, compression, log: ctx.log, signal: ctx.signal });
    process.stdout.write(`produced ${counts.produced} messages (${counts.bytes} bytes) to ${topic}\n`);
    return 0;
  }

  for (const name of ["file", "key-delimiter", "headers", "compression"] as const) {
    if (flags.has(name)) throw new UsageError(`--${name} is for --produce`);
  }
  if (flags.has("offset") && flags.has("from-time")) throw new UsageError("--offset and --from-time both set the start; give one");
  if (flags.bool("follow") && flags.has("to-time")) throw new UsageError("--to-time sets where the read ends; it cannot --follow");
  const fromTime = flags.has("from-time") ? parseTime(flags.string("from-time", ""), "--from-time") : undefined;
  const toTime = flags.has("to-time") ? parseTime(flags.string("to-time", ""), "--to-time") : undefined;
  if (fromTime !== undefined && toTime !== undefined && toTime < fromTime) throw new UsageError("--to-time is before --from-time");
  const group = flags.string("group");
  const range: RangeSpec = {
    start:
      fromTime !== undefined
        ? { kind: "time" }
        : flags.has("offset")
          ? parseOffsetSpec(flags.string("offset", ""))
          : group !== undefined
            ? { kind: "committed" }
            : { kind: "beginning" },
    end: toTime !== undefined ? { kind: "time" } : flags.bool("follow") ? { kind: "none" } : { kind: "end" },
  };
  const count = flags.int("count", undefined, { min: 1 });
  const idleTimeoutMs = flags.number("idle-timeout", 30, { min: 1 }) * 1000;
  if (format !== "json" && format !== "value") compileTemplate(format); // a bad template is a usage error before connecting
  const valueFormat = flags.has("value-format") ? flags.choice("value-format", ["json", "avro"] as const, "json") : undefined;
  if (valueFormat !== "avro" && flags.has("avro-schema")) throw new UsageError("--avro-schema needs --value-format avro");
  const avro = valueFormat === "avro" ? await avroDecoderFromFlags(flags, ctx.config, ctx.signal) : undefined;
  const render = messageRenderer(format, avro ? avroValueDecoder(avro) : valueFormat === "json" ? jsonValueDecoder : undefined);

  // Loaded after the flags are parsed: the drivers take longer to load than --help to answer.
  const { catTopic } = await import("../lib/inspect/cat-topic.ts");
  const result = await catTopic({
    kafka: kafkaConfig,
    topic,
    partition,
    range,
    times: { fromTime, toTime },
    count,
    group,
    idleTimeoutMs,
    prepare: avro ? (values) => avro.prepare(values) : undefined,
    render,
    out: process.stdout,
    log: ctx.log,
    signal: ctx.signal,
  });
  ctx.log.info("done", { topic, messages: result.messages, ...(result.problem ? { problem: result.problem } : {}) });
  if (result.problem) throw new Error(result.problem);
  return 0;
});
