import { describe, expect, test } from "bun:test";
import { Partitioners } from "kafkajs";
import { CompressionTypes } from "kafkajs";
import { createToolRegistry, metricValue } from "../../lib/metrics/registry.ts";
import { producerMetrics } from "../../lib/metrics/producer-metrics.ts";
import { produceMessages } from "../../lib/produce/produce.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { metricsUrlOf, sampleValue } from "../helpers/metrics-fixtures.ts";
import { createTopic, kafkaClient, produce, produceJson, startTool, uniqueName, waitFor, withAdmin } from "../helpers/stack-fixtures.ts";

describe("--metrics", () => {
  const engineFields = { written: "inserted", deadLettered: "dead_lettered", skipped: "skipped" };
  const pipelines = [
    { tool: "kafka2mongo", fields: engineFields, args: (t: string) => ["--topic", t, "--db", "toolkit_tests", "--collection", t] },
    { tool: "kafka2sql", fields: engineFields, args: (t: string) => ["--topic", t, "--sql", "sqlite", "--table", t.replaceAll("-", "_")] },
    {
      tool: "kafka2kafka",
      fields: { ...engineFields, written: "copied" },
      args: (t: string) => ["--topic", t, "--from", "local_kafka", "--to", "local_kafka", "--dest-topic", `${t}-copy`],
    },
    {
      tool: "process-events",
      // Processed events are written, errors go to the errors topic, filtered ones are skipped.
      fields: { written: "processed", deadLettered: "errors", skipped: "filtered" },
      args: (t: string) => ["--in", t, "--out", `${t}.out`, "--errors-topic", `${t}.errors`, "--summary-topic", "none", "--filtered-topic", "none"],
    },
  ];
  for (const pipeline of pipelines) {
    test(`${pipeline.tool}'s counters equal its summary at the end of a run`, async () => {
      const topic = uniqueName(`metrics-${pipeline.tool}`);
      await createTopic(topic, 3);
      await produceJson(topic, 1500);
      // Bad for the JSON sinks; copied as they are by kafka2kafka.
      await produce(topic, [{ value: "not json" }, { value: "{broken" }, { value: "[1," }]);
      const tool = startTool(`tools/${pipeline.tool}.ts`, [
        "--group", `${topic}-g`, ...pipeline.args(topic), "--metrics", "127.0.0.1:0", "--json",
      ]);
      let text = "";
      try {
        const url = await metricsUrlOf(tool);
        await waitFor(async () => {
          text = await (await fetch(url)).text();
          return sampleValue(text, "kafka_toolkit_messages_consumed_total", { topic }) === 1503;
        }, `${pipeline.tool} to report 1503 messages consumed on /metrics`);
        // Lag per partition is measured while the run lasts; once all is committed it reads 0 on each.
        const lagSeries = (p: number) => `kafka_toolkit_consumer_lag{tool="${pipeline.tool}",topic="${topic}",partition="${p}"} 0`;
        await waitFor(async () => {
          text = await (await fetch(url)).text();
          return [0, 1, 2].every((p) => text.includes(lagSeries(p)));
        }, `${pipeline.tool} to report lag 0 on each partition on /metrics`);
      } finally {
        tool.proc.kill("SIGTERM");
      }
      expect(await tool.exited).toBe(0);
      const summary = JSON.parse((await tool.stdout).trim().split("\n").pop()!);
      const counter = (name: string) => sampleValue(text, `kafka_toolkit_${name}`, { tool: pipeline.tool, topic });
      expect({
        consumed: counter("messages_consumed_total"),
        written: counter("messages_written_total"),
        dead_lettered: counter("messages_dead_lettered_total"),
        skipped: counter("messages_skipped_total"),
      }).toEqual({
        consumed: summary.consumed,
        written: summary[pipeline.fields.written],
        dead_lettered: summary[pipeline.fields.deadLettered],
        skipped: summary[pipeline.fields.skipped],
      });
      expect(counter("messages_duplicate_total")).toBe(summary.duplicates ?? 0);
      expect(summary.consumed).toBe(1503);
      const group = await withAdmin(undefined, (admin) => admin.fetchOffsets({ groupId: `${topic}-g`, topics: [topic] }));
      for (const { partition, offset } of group[0]!.partitions) {
        expect(sampleValue(text, "kafka_toolkit_committed_offset", { tool: pipeline.tool, topic, partition })).toBe(Number(offset));
      }
      expect(sampleValue(text, "kafka_toolkit_commits_total", { tool: pipeline.tool, topic })).toBeGreaterThan(0);
      expect(sampleValue(text, "kafka_toolkit_queued_chunks", { tool: pipeline.tool })).toBe(0);
      expect(sampleValue(text, "kafka_toolkit_sink_retries_total", { tool: pipeline.tool })).toBe(0);
      expect(text).toContain(`kafka_toolkit_sink_errors_total{tool="${pipeline.tool}"`);
      expect(sampleValue(text, "kafka_toolkit_sink_write_duration_seconds_count", { tool: pipeline.tool })).toBeGreaterThan(0);
      expect(sampleValue(text, "kafka_toolkit_build_info", { tool: pipeline.tool })).toBe(1);
      expect(sampleValue(text, "kafka_toolkit_process_resident_memory_bytes")).toBeGreaterThan(0);
    });
  }

  test("produce metrics equal the produce summary", async () => {
    const topic = uniqueName("metrics-produce");
    await createTopic(topic, 2);
    const registry = createToolRegistry({ tool: "produce-test-data", processMetrics: false });
    const metrics = producerMetrics(registry, { tool: "produce-test-data", topic });
    const producer = kafkaClient().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      let seq = 0;
      const summary = await produceMessages({
        producer: metrics.timed(producer),
        topic,
        nextBatch: (n) => Array.from({ length: n }, () => ({ value: JSON.stringify({ seq: seq++ }) })),
        total: 2500,
        batchSize: 400,
        maxInFlight: 2,
        acks: -1,
        compression: CompressionTypes.None,
        retry: { retries: 2, initialDelayMs: 100, maxDelayMs: 1000 },
        log: silentLogger,
        ...metrics.hooks,
      });
      const value = (name: string) => metricValue(registry, `kafka_toolkit_${name}`, { topic });
      expect(summary.sent).toBe(2500);
      expect(await value("produced_messages_total")).toBe(summary.sent);
      expect(await value("produced_bytes_total")).toBe(summary.bytes);
      expect(await value("produce_failed_messages_total")).toBe(summary.failed);
      expect(await value("producer_retries_total")).toBe(summary.retries);
      expect(await registry.metrics()).toContain(`kafka_toolkit_producer_send_duration_seconds_count{tool="produce-test-data",topic="${topic}"} 7`);
    } finally {
      await producer.disconnect();
    }
  });
});
