/**
 * consumer-lag: how far consumer groups are behind, per topic and
 * partition, with an exit code for cron alerts. See --help.
 */
import { defineTool } from "../lib/cli/flags.ts";
import { runTool } from "../lib/cli/run.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { UsageError } from "../lib/errors.ts";
import { fetchGroupLag, formatGroupLag } from "../lib/inspect/consumer-lag.ts";
import type { TopicOffsetsEntry } from "../lib/kafka/lag.ts";

const spec = defineTool({
  name: "consumer-lag",
  summary: "Show consumer group lag per topic and partition; alert above a limit.",
  description: [
    "For each partition: the group's committed offset, the end offset and the lag between them.",
    "A partition without a committed offset is counted from its earliest offset and marked so.",
    "Without --topic, the topics are those the group has committed offsets for.",
    "--max-lag N exits 1 when a group's total lag is above N (with --all: any group).",
    "An unknown group (no committed offsets and no --topic) exits 1.",
  ],
  options: {
    group: { type: "string", value: "G", description: "Consumer group", defaultText: "[section] default_consumer_group_id" },
    all: { type: "boolean", description: "Every consumer group of the cluster" },
    topic: { type: "string", value: "T", multiple: true, description: "Only these topics (also shows never-committed ones)" },
    kafka: { type: "string", value: "SECTION", description: "Kafka section of the config", defaultText: "local_kafka" },
    "max-lag": { type: "string", value: "N", description: "Exit 1 when a group's total lag is above N" },
    json: { type: "boolean", description: "Print one JSON report on stdout" },
  },
  examples: [
    "bun tools/consumer-lag.ts --config config/local-stack.ini --group kafka2mongo",
    "bun tools/consumer-lag.ts --all --json",
    "bun tools/consumer-lag.ts --group kafka2mongo --max-lag 10000   # cron: alert when behind",
    "bun tools/consumer-lag.ts --group new-group --topic logins",
  ],
});

await runTool(spec, async (flags, ctx) => {
  const maxLag = flags.int("max-lag", undefined, { min: 0 });
  const topics = flags.list("topic");
  const section = kafkaSection(ctx.config(), flags.string("kafka", "local_kafka"));
  if (flags.bool("all") && flags.has("group")) throw new UsageError("use --group or --all, not both");
  const group = flags.string("group") ?? section.defaultGroupId;
  if (!flags.bool("all") && !group) throw new UsageError(`--group or --all is required ([${section.name}] has no default_consumer_group_id)`);

  // Loaded after the flags are parsed: the drivers take longer to load than --help to answer.
  const { createKafka, describeKafka } = await import("../lib/kafka/client.ts");
  const admin = createKafka(section, ctx.log, { retries: 2 }).admin();
  ctx.log.info("connecting", { kafka: describeKafka(section) });
  await admin.connect();
  try {
    const groups = flags.bool("all")
      ? (await admin.listGroups()).groups.map((g) => g.groupId).sort()
      : [group as string];
    const topicOffsets = new Map<string, Promise<TopicOffsetsEntry[]>>();
    const lags = [];
    for (const id of groups) lags.push(await fetchGroupLag(admin, id, { topics, topicOffsets }));

    const problems: string[] = [];
    for (const lag of lags) {
      if (lag.topics.length === 0 && !flags.bool("all")) problems.push(`group ${lag.group} has no committed offsets (unknown group?)`);
      if (maxLag !== undefined && lag.total_lag > maxLag) problems.push(`group ${lag.group} lag ${lag.total_lag} is above ${maxLag}`);
    }
    const report = {
      ok: problems.length === 0,
      problems,
      ...(maxLag !== undefined ? { max_lag: maxLag } : {}),
      total_lag: lags.reduce((sum, l) => sum + l.total_lag, 0),
      groups: lags,
    };
    process.stdout.write((flags.bool("json") ? JSON.stringify(report) : formatGroupLag(lags) || "no consumer groups") + "\n");
    for (const problem of problems) ctx.log.error(problem);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await admin.disconnect();
  }
});
