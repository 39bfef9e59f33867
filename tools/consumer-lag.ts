/**
 * consumer-lag: how far consumer groups are behind, per topic and
 * partition, with an exit code for cron alerts. See --help.
 */
import { defineTool } from "../lib/cli/flags.ts";
import { runTool } from "../lib/cli/run.ts";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { UsageError } from "../lib/errors.ts";
import { fetchLags, formatGroupLag } from "../lib/inspect/consumer-lag.ts";
import { startToolMetrics } from "../lib/metrics/tool-metrics.ts";
import { sleep } from "../lib/backoff.ts";

const spec = defineTool({
  name: "consumer-lag",
  summary: "Show consumer group lag per topic and partition; alert above a limit.",
  description: [
    "For each partition: the group's committed offset, the end offset and the lag between them.",
    "A partition without a committed offset is counted from its earliest offset and marked so.",
    "Without --topic, the topics are those the group has committed offsets for.",
    "--max-lag N exits 1 when a group's total lag is above N (with --all: any group).",
    "An unknown group (no committed offsets and no --topic) exits 1.",
    "--serve ADDR runs it as a Prometheus exporter instead (like kafka-lag-exporter): lag, committed and",
    "end offsets per partition, refreshed every --interval, until Ctrl-C; kafka_toolkit_kafka_up is 0",
    "while the cluster cannot be read.",
  ],
  options: {
    group: { type: "string", value: "G", description: "Consumer group", defaultText: "[section] default_consumer_group_id" },
    all: { type: "boolean", description: "Every consumer group of the cluster" },
    topic: { type: "string", value: "T", multiple: true, description: "Only these topics (also shows never-committed ones)" },
    kafka: { type: "string", value: "SECTION", description: "Kafka section of the config", defaultText: "local_kafka" },
    "max-lag": { type: "string", value: "N", description: "Exit 1 when a group's total lag is above N" },
    json: { type: "boolean", description: "Print one JSON report on stdout" },
    serve: { type: "string", value: "ADDR", description: "Serve lag as Prometheus metrics on ADDR (:9308, 127.0.0.1:9308) at /metrics" },
    interval: { type: "string", value: "SECONDS", description: "With --serve: seconds between refreshes", defaultText: "15" },
  },
  examples: [
    "bun tools/consumer-lag.ts --config config/local-stack.ini --group kafka2mongo",
    "bun tools/consumer-lag.ts --all --json",
    "bun tools/consumer-lag.ts --group kafka2mongo --max-lag 10000   # cron: alert when behind",
    "bun tools/consumer-lag.ts --group new-group --topic logins",
    "bun tools/consumer-lag.ts --all --serve :9308 --interval 10   # Prometheus lag exporter",
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
  const which = { groups: flags.bool("all") ? ("all" as const) : [group as string], topics };
  ctx.log.info("connecting", { kafka: describeKafka(section) });

  if (flags.has("serve")) {
    if (flags.has("max-lag") || flags.bool("json")) throw new UsageError("--serve exports metrics; alert with Prometheus rules instead of --max-lag/--json");
    const intervalMs = flags.number("interval", 15, { min: 0.1 }) * 1000;
    const metrics = await startToolMetrics({ address: flags.string("serve"), tool: spec.name, log: ctx.log, flag: "--serve" });
    const { lagExporter } = await import("../lib/metrics/lag-exporter.ts");
    const exporter = lagExporter(metrics.registry!, { cluster: section.name });
    let connected = false;
    try {
      while (!ctx.signal.aborted) {
        const failure = await exporter.refresh(async () => {
          // Connecting inside the refresh: an exporter started before its cluster reports up 0 and keeps trying.
          if (!connected) await admin.connect();
          connected = true;
          const [lags, cluster] = await Promise.all([fetchLags(admin, which), admin.describeCluster()]);
          return { lags, brokers: cluster.brokers.length };
        });
        if (failure) ctx.log.warn("lag refresh failed", { error: failure.message });
        await sleep(intervalMs, ctx.signal);
      }
    } finally {
      await metrics.close();
      await admin.disconnect().catch(() => undefined);
    }
    return 0;
  }

  await admin.connect();
  try {
    const lags = await fetchLags(admin, which);

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
