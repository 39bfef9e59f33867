/**
 * `--metrics ADDR` for a tool: one registry, the HTTP endpoint, and the
 * hooks a job passes to the engine. Without the flag nothing is created and
 * the hooks are empty, so a run without metrics pays nothing.
 *
 * @example
 * const metrics = await startToolMetrics({ address: flags.string("metrics"), tool: "kafka2mongo", log });
 * try {
 *   await kafkaToMongo({ ...options, ...metrics.pipelineHooks({ sink: "mongodb", topics: [topic] }) });
 * } finally {
 *   await metrics.close();
 * }
 */
import type { Registry } from "prom-client";
import { EngineEvents } from "../engine/events.ts";
import type { Logger } from "../log/logger.ts";
import { parseListenAddress } from "./address.ts";
import type { PipelineMetrics } from "./pipeline-metrics.ts";
import type { ProducerMetrics } from "./producer-metrics.ts";

/** What a job hands on to runPipeline: the engine's events, with the metrics attached. */
export interface PipelineHooks {
  events?: EngineEvents;
}

export interface ToolMetrics {
  /** Undefined without --metrics. */
  registry?: Registry;
  url?: string;
  pipeline?: PipelineMetrics;
  pipelineHooks(options: { sink: string; topics?: string[] }): PipelineHooks;
  /** Producer metrics for a topic; undefined without --metrics. */
  producer(topic: string): ProducerMetrics | undefined;
  close(): Promise<void>;
}

export interface ToolMetricsOptions {
  /** The --metrics value; undefined for no metrics. */
  address?: string;
  tool: string;
  log: Logger;
  /** The flag named in errors. */
  flag?: string;
}

/** Feeds a pipeline's metrics from the engine's events: every metric of a run moves only here. */
export function feedPipelineMetrics(events: EngineEvents, pipeline: PipelineMetrics): void {
  events.on("chunk.committed", pipeline.chunkCommitted);
  events.on("retry", () => pipeline.sinkRetry());
  events.on("sink.error", () => pipeline.sinkError());
  events.on("commit", (e) => {
    if (e.ok) pipeline.offsetCommitted(e.topic, e.partition, e.offset);
  });
  events.on("queue.depth", (e) => pipeline.queuedChunks(e.chunks));
  events.on("lag", (e) => {
    for (const p of e.partitions) pipeline.lag(p.topic, p.partition, p.lag);
  });
}

export async function startToolMetrics(options: ToolMetricsOptions): Promise<ToolMetrics> {
  if (options.address === undefined) return { pipelineHooks: () => ({}), producer: () => undefined, close: async () => {} };
  const address = parseListenAddress(options.address, options.flag ?? "--metrics");
  // prom-client is loaded only when asked for: --help and runs without metrics stay light.
  const [{ createToolRegistry }, { serveMetrics }, { pipelineMetrics }, { producerMetrics }] = await Promise.all([
    import("./registry.ts"),
    import("./server.ts"),
    import("./pipeline-metrics.ts"),
    import("./producer-metrics.ts"),
  ]);
  const registry = createToolRegistry({ tool: options.tool });
  const server = await serveMetrics(registry, address, options.flag ?? "--metrics");
  options.log.info("metrics endpoint", { url: server.url });
  const metrics: ToolMetrics = {
    registry,
    url: server.url,
    pipelineHooks(hookOptions) {
      const pipeline = pipelineMetrics(registry, { tool: options.tool, ...hookOptions });
      metrics.pipeline = pipeline;
      const events = new EngineEvents();
      feedPipelineMetrics(events, pipeline);
      return { events };
    },
    producer: (topic) => producerMetrics(registry, { tool: options.tool, topic }),
    close: () => server.close(),
  };
  return metrics;
}
