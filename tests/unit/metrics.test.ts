import { describe, expect, test } from "bun:test";
import { parseListenAddress, urlOf } from "../../lib/metrics/address.ts";
import { pipelineMetrics } from "../../lib/metrics/pipeline-metrics.ts";
import { producerMetrics } from "../../lib/metrics/producer-metrics.ts";
import { createToolRegistry, metricValue } from "../../lib/metrics/registry.ts";
import { MetricsListenError, serveMetrics } from "../../lib/metrics/server.ts";
import { UsageError } from "../../lib/errors.ts";
import { EngineEvents } from "../../lib/engine/events.ts";
import { runPipeline } from "../../lib/engine/pipeline.ts";
import { TransientSinkError } from "../../lib/engine/sink.ts";
import { feedPipelineMetrics } from "../../lib/metrics/tool-metrics.ts";
import { FakeDeadLetters, FakeSink, FakeSource, FakeTransactionalSink, records, settings, writeValues } from "../helpers/fake-pipeline.ts";

describe("parseListenAddress", () => {
  test("takes :PORT, HOST:PORT and [IPv6]:PORT", () => {
    expect(parseListenAddress(":9464", "--metrics")).toEqual({ host: "0.0.0.0", port: 9464 });
    expect(parseListenAddress("127.0.0.1:9464", "--metrics")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseListenAddress("[::1]:9464", "--metrics")).toEqual({ host: "::1", port: 9464 });
    expect(urlOf({ host: "0.0.0.0", port: 9464 })).toBe("http://127.0.0.1:9464/metrics");
  });

  test("refuses anything else with a line naming the flag", () => {
    for (const bad of ["9464", "abc", ":99999", "host:", ""]) {
      expect(() => parseListenAddress(bad, "--serve")).toThrow(UsageError);
      expect(() => parseListenAddress(bad, "--serve")).toThrow(/^--serve must be \[HOST\]:PORT/);
    }
  });
});

describe("pipelineMetrics", () => {
  test("counts committed chunks by outcome and topic, and times the writes", async () => {
    const registry = createToolRegistry({ tool: "kafka2mongo", processMetrics: false });
    const metrics = pipelineMetrics(registry, { tool: "kafka2mongo", sink: "mongodb", topics: ["a", "b"] });
    const chunk = { partition: 0, records: 10, written: 7, duplicates: 1, deadLettered: 1, skipped: 1, bytes: 1000, writeMs: 20, latencyMs: 25 };
    metrics.chunkCommitted({ topic: "a", ...chunk });
    metrics.chunkCommitted({ topic: "a", ...chunk });
    metrics.chunkCommitted({ topic: "b", ...chunk });
    metrics.sinkRetry();
    metrics.offsetCommitted("a", 0, "20");
    metrics.lag("a", 0, 5);
    const value = (name: string, labels = {}) => metricValue(registry, `kafka_toolkit_${name}`, labels);
    expect(await value("messages_consumed_total", { topic: "a" })).toBe(20);
    expect(await value("messages_written_total")).toBe(21);
    expect(await value("messages_duplicate_total")).toBe(3);
    expect(await value("messages_dead_lettered_total")).toBe(3);
    expect(await value("messages_skipped_total")).toBe(3);
    expect(await value("consumed_bytes_total")).toBe(3000);
    expect(await value("sink_retries_total")).toBe(1);
    expect(await value("sink_errors_total")).toBe(0);
    metrics.sinkError();
    expect(await value("sink_errors_total")).toBe(1);
    expect(await value("committed_offset", { topic: "a", partition: 0 })).toBe(20);
    expect(await value("consumer_lag", { topic: "a", partition: 0 })).toBe(5);
    const text = await registry.metrics();
    expect(text).toContain('kafka_toolkit_sink_write_duration_seconds_count{tool="kafka2mongo",sink="mongodb"} 3');
    expect(text).toContain('kafka_toolkit_build_info{tool="kafka2mongo",version=');
    // Known topics start at zero, so increase() sees the first dead letter.
    expect(text).toContain('kafka_toolkit_messages_dead_lettered_total{tool="kafka2mongo",topic="b"} 1');
  });
});

describe("producerMetrics", () => {
  test("counts acknowledged, failed and retried sends and times each attempt", async () => {
    const registry = createToolRegistry({ tool: "produce-test-data", processMetrics: false });
    const metrics = producerMetrics(registry, { tool: "produce-test-data", topic: "t" });
    let calls = 0;
    const send = metrics.timed({
      send: async () => {
        if (calls++ === 0) throw new Error("broker gone");
        return [];
      },
    }).send;
    await expect(send({ topic: "t", messages: [] })).rejects.toThrow("broker gone");
    await send({ topic: "t", messages: [] });
    metrics.hooks.onRetry();
    metrics.hooks.onAcknowledged(5, 50);
    metrics.hooks.onFailed(2);
    const value = (name: string) => metricValue(registry, `kafka_toolkit_${name}`);
    expect(await value("produced_messages_total")).toBe(5);
    expect(await value("produced_bytes_total")).toBe(50);
    expect(await value("produce_failed_messages_total")).toBe(2);
    expect(await value("producer_retries_total")).toBe(1);
    expect(await value("producer_errors_total")).toBe(1);
    expect(await registry.metrics()).toContain('kafka_toolkit_producer_send_duration_seconds_count{tool="produce-test-data",topic="t"} 2');
  });
});

describe("serveMetrics", () => {
  test("serves /metrics with process metrics, 404 elsewhere, and names the flag when the port is taken", async () => {
    const registry = createToolRegistry({ tool: "test" });
    const server = await serveMetrics(registry, { host: "127.0.0.1", port: 0 });
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/plain");
      const text = await response.text();
      for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "build_info"]) {
        expect(text).toContain(`kafka_toolkit_${name}`);
      }
      expect((await fetch(server.url.replace("/metrics", "/other"))).status).toBe(404);
      const port = Number(new URL(server.url).port);
      const taken = serveMetrics(registry, { host: "127.0.0.1", port }, "--serve");
      await expect(taken).rejects.toThrow(MetricsListenError);
      await expect(taken).rejects.toThrow(/^--serve: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    } finally {
      await server.close();
    }
  });
});

describe("lagExporter", () => {
  test("publishes lag, committed and end offsets; drops vanished groups; up 0 on a failed refresh keeps the last values", async () => {
    const { lagExporter } = await import("../../lib/metrics/lag-exporter.ts");
    const registry = createToolRegistry({ tool: "consumer-lag", processMetrics: false });
    const exporter = lagExporter(registry, { cluster: "local_kafka" });
    const partition = (p: number, committed: number | null, end: number) => ({
      partition: p, committed, earliest: 0, end, lag: end - (committed ?? 0), from_earliest: committed === null,
    });
    const group = (name: string, partitions: ReturnType<typeof partition>[]) => ({
      group: name, state: "Stable", members: 1, total_lag: partitions.reduce((s, p) => s + p.lag, 0),
      topics: [{ topic: "t", lag: partitions.reduce((s, p) => s + p.lag, 0), partitions }],
    });
    expect(await exporter.refresh(async () => ({ lags: [group("a", [partition(0, 10, 50), partition(1, null, 5)]), group("b", [partition(0, 50, 50)])], brokers: 3 }))).toBeUndefined();
    const value = (name: string, labels = {}) => metricValue(registry, `kafka_toolkit_${name}`, labels);
    expect(await value("consumer_group_lag", { group: "a" })).toBe(45);
    expect(await value("consumer_group_committed_offset", { group: "a", partition: 0 })).toBe(10);
    expect(await registry.metrics()).not.toContain('kafka_toolkit_consumer_group_committed_offset{cluster="local_kafka",group="a",topic="t",partition="1"}');
    expect(await value("topic_end_offset", { topic: "t", partition: 0 })).toBe(50);
    expect(await value("kafka_brokers")).toBe(3);
    expect(await value("kafka_up")).toBe(1);

    await exporter.refresh(async () => ({ lags: [group("a", [partition(0, 20, 60)])], brokers: 3 }));
    expect(await registry.metrics()).not.toContain('group="b"');

    const failure = await exporter.refresh(async () => {
      throw new Error("brokers gone");
    });
    expect(failure?.message).toBe("brokers gone");
    expect(await value("kafka_up")).toBe(0);
    expect(await value("lag_refresh_errors_total")).toBe(1);
    expect(await value("consumer_group_lag", { group: "a" })).toBe(40);
  });
});

describe("pipeline metrics fed from the engine's events (feedPipelineMetrics)", () => {
  async function run(options: { transactional: boolean }) {
    const registry = createToolRegistry({ tool: "t", processMetrics: false });
    const events = new EngineEvents();
    feedPipelineMetrics(events, pipelineMetrics(registry, { tool: "t", sink: "fake", topics: ["t"] }));
    const retries: number[] = [];
    const errors: number[] = [];
    events.on("retry", (e) => retries.push(e.attempt));
    events.on("sink.error", () => errors.push(1));
    const source = new FakeSource([records("t", 0, 7), records("t", 1, 5)]);
    const poisoned = new Set(["t/1/2"]);
    let failures = 0;
    const failTwice = async () => {
      if (failures < 2) {
        failures++;
        throw new TransientSinkError("down (test)");
      }
    };
    const sink = options.transactional ? new FakeTransactionalSink(source) : new FakeSink();
    if (sink instanceof FakeSink) sink.before = failTwice;
    else sink.midTransaction = failTwice;
    const deadLetters = new FakeDeadLetters();
    const summary = await runPipeline({
      source,
      sink,
      processor: (record) => (poisoned.has(record.value!.toString()) ? { kind: "dead", reason: "bad (test)", stage: "decode" } : writeValues(record)),
      deadLetters,
      events,
      retry: { initialMs: 1, maxMs: 2 },
      pausePolicy: false,
      commitStrategy: options.transactional ? "transaction" : "offsets",
      ...settings({ onError: "dlq" }),
    });
    const value = (name: string, labels = {}) => metricValue(registry, `kafka_toolkit_${name}`, labels);
    return { summary, value, retries, errors, source };
  }

  for (const transactional of [false, true]) {
    test(`at the end of a run the counters equal the summary (${transactional ? "transaction" : "offsets"} commits)`, async () => {
      const { summary, value, retries, errors, source } = await run({ transactional });
      expect(summary.stoppedBy).toBe("caught-up");
      expect(summary.committed).toBe(12);
      expect({
        consumed: await value("messages_consumed_total", { topic: "t" }),
        written: await value("messages_written_total", { topic: "t" }),
        deadLettered: await value("messages_dead_lettered_total", { topic: "t" }),
        duplicates: await value("messages_duplicate_total", { topic: "t" }),
        skipped: await value("messages_skipped_total", { topic: "t" }),
      }).toEqual({ consumed: summary.committed, written: summary.written, deadLettered: summary.deadLettered, duplicates: summary.duplicates, skipped: summary.skipped });
      expect(summary.deadLettered).toBe(1);
      expect(await value("sink_retries_total")).toBe(retries.length);
      expect(retries.length).toBe(2);
      expect(await value("sink_errors_total")).toBe(errors.length);
      // The last committed offset per partition is the group's, and commits were counted.
      expect(await value("committed_offset", { topic: "t", partition: 0 })).toBe(source.committed.get("t/0")!);
      expect(await value("committed_offset", { topic: "t", partition: 1 })).toBe(source.committed.get("t/1")!);
      expect(await value("commits_total", { topic: "t" })).toBeGreaterThanOrEqual(2);
      // Lag per partition as the run ended (the summary's remaining lag), and nothing queued.
      expect(await value("consumer_lag", { topic: "t", partition: 0 })).toBe(0);
      expect(await value("consumer_lag", { topic: "t", partition: 1 })).toBe(0);
      expect(summary.lag).toBe(0);
      expect(await value("queued_chunks")).toBe(0);
    });
  }
});
