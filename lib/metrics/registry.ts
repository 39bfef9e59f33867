/**
 * One Prometheus registry per tool process: every metric under the
 * `kafka_toolkit_` prefix, the process metrics (CPU, RSS, event-loop lag,
 * heap, file descriptors) and a build-info gauge saying which tool, version
 * and runtime is answering.
 *
 * @example
 * const registry = createToolRegistry({ tool: "kafka2mongo" });
 * await registry.metrics(); // text exposition format
 */
import { Gauge, Registry } from "prom-client";
import packageJson from "../../package.json" with { type: "json" };
import { registerProcessMetrics } from "./process-metrics.ts";

export const METRIC_PREFIX = "kafka_toolkit_";

export interface ToolRegistryOptions {
  tool: string;
  /** Process metrics sample the event loop; unit tests of pure metrics can leave them out. */
  processMetrics?: boolean;
}

export function createToolRegistry(options: ToolRegistryOptions): Registry {
  const registry = new Registry();
  if (options.processMetrics ?? true) registerProcessMetrics(registry, METRIC_PREFIX);
  const buildInfo = new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: "Always 1: the tool, toolkit version and runtime of this process",
    labelNames: ["tool", "version", "runtime"] as const,
    registers: [registry],
  });
  buildInfo.set({ tool: options.tool, version: packageJson.version, runtime: runtimeName() }, 1);
  return registry;
}

function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return `bun ${versions.bun}`;
  if (versions.deno) return `deno ${versions.deno}`;
  return `node ${versions.node}`;
}

/** The current value of a counter or gauge for some labels; 0 when never set. Mostly for tests and reports. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string | number> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === String(want)))
    .filter((v) => !("metricName" in v) || v.metricName === undefined || v.metricName === name)
    .reduce((sum, v) => sum + v.value, 0);
}
