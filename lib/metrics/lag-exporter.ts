/**
 * The consumer-lag exporter (consumer-lag --serve), like kafka-lag-exporter:
 * every interval it reads the committed and end offsets of one group or of
 * every group and publishes them as gauges. A failed refresh sets
 * kafka_toolkit_kafka_up to 0 and keeps the last values, so one slow broker
 * answer does not blank the dashboards.
 *
 * @example
 * const exporter = lagExporter(registry, { cluster: "local_kafka" });
 * await exporter.refresh(() => fetchLags(admin));  // every --interval
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { GroupLag } from "../inspect/consumer-lag.ts";
import { METRIC_PREFIX } from "./registry.ts";

export interface LagExporter {
  /** Reads lags with `fetch` and publishes them; never throws (a failure is a metric and the returned error). */
  refresh(fetch: () => Promise<{ lags: GroupLag[]; brokers: number }>): Promise<Error | undefined>;
}

export function lagExporter(registry: Registry, options: { cluster: string }): LagExporter {
  const { cluster } = options;
  const registers = [registry];
  const byPartition = ["cluster", "group", "topic", "partition"] as const;
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers });
  const lag = gauge("consumer_group_lag", "Messages the group still has to read, per partition", byPartition);
  const committed = gauge("consumer_group_committed_offset", "The group's committed offset (next to read)", byPartition);
  const end = gauge("topic_end_offset", "Offset the next message of the partition will get", ["cluster", "topic", "partition"] as const);
  const members = gauge("consumer_group_members", "Members of the group", ["cluster", "group"] as const);
  const up = gauge("kafka_up", "1 if the last lag refresh read the cluster, 0 if it failed", ["cluster"] as const);
  const brokers = gauge("kafka_brokers", "Brokers in the cluster metadata at the last refresh", ["cluster"] as const);
  const duration = gauge("lag_refresh_duration_seconds", "Time the last lag refresh took", ["cluster"] as const);
  const errors = new Counter({
    name: `${METRIC_PREFIX}lag_refresh_errors_total`,
    help: "Lag refreshes that failed",
    labelNames: ["cluster"] as const,
    registers,
  });
  errors.inc({ cluster }, 0);

  return {
    async refresh(fetch) {
      const started = performance.now();
      try {
        const result = await fetch();
        // Reset first: a deleted group or topic must not linger with its last lag.
        for (const g of [lag, committed, end, members]) g.reset();
        for (const group of result.lags) {
          members.set({ cluster, group: group.group }, group.members);
          for (const topic of group.topics) {
            for (const p of topic.partitions) {
              const labels = { cluster, group: group.group, topic: topic.topic, partition: p.partition };
              lag.set(labels, p.lag);
              if (p.committed !== null) committed.set(labels, p.committed);
              end.set({ cluster, topic: topic.topic, partition: p.partition }, p.end);
            }
          }
        }
        brokers.set({ cluster }, result.brokers);
        up.set({ cluster }, 1);
        return undefined;
      } catch (error) {
        up.set({ cluster }, 0);
        errors.inc({ cluster });
        return error instanceof Error ? error : new Error(String(error));
      } finally {
        duration.set({ cluster }, (performance.now() - started) / 1000);
      }
    },
  };
}
