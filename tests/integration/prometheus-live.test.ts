/**
 * The monitoring setup against the local stack's real Prometheus and
 * Alertmanager: Prometheus scrapes a running kafka2mongo, a producer and both
 * exporters, and every dashboard panel's query returns data; a group that
 * falls behind fires the lag alert (a copy of the rule with a short `for`).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { metricsUrlOf } from "../helpers/metrics-fixtures.ts";
import {
  addRules,
  alertmanagerAlerts,
  prometheusAlerts,
  query,
  registerTargets,
  waitForQuery,
} from "../helpers/prometheus-fixtures.ts";
import { ROOT, createTopic, produce, produceJson, startTool, uniqueName, waitFor, withAdmin, type ToolProcess } from "../helpers/stack-fixtures.ts";

const DASHBOARDS = join(ROOT, "config", "monitoring", "grafana", "dashboards");
const running: ToolProcess[] = [];
const cleanups: Array<() => unknown> = [];

afterAll(async () => {
  for (const tool of running) tool.proc.kill("SIGTERM");
  await Promise.all(running.map((t) => t.exited));
  for (const cleanup of cleanups) await cleanup();
});

/** Starts a tool serving metrics on a free port and registers it with Prometheus under `job`. */
async function scraped(job: string, tool: string, args: string[], flag = "--metrics"): Promise<string> {
  const proc = startTool(tool, [...args, flag, "127.0.0.1:0"]);
  running.push(proc);
  const url = await metricsUrlOf(proc);
  const instance = new URL(url).host;
  cleanups.push(registerTargets(uniqueName(job), [{ targets: [instance], labels: { job } }]));
  return instance;
}

interface Panel {
  title: string;
  description?: string;
  targets: { expr: string }[];
}

function dashboardQueries(): { where: string; expr: string }[] {
  return readdirSync(DASHBOARDS).flatMap((file) => {
    const dashboard = JSON.parse(readFileSync(join(DASHBOARDS, file), "utf8")) as { panels: Panel[] };
    return dashboard.panels
      // FerretDB, the stack's MongoDB, reports neither connections nor opcounters.
      .filter((panel) => !panel.description?.startsWith("MongoDB only"))
      .flatMap((panel) => panel.targets.map((t) => ({ where: `${file} "${panel.title}"`, expr: t.expr })));
  });
}

describe("Prometheus in the local stack", () => {
  test("scrapes kafka2mongo, a producer and the exporters; every dashboard panel has data", async () => {
    const topic = uniqueName("live");
    await createTopic(topic, 3);
    await produceJson(topic, 500);
    await produce(topic, [{ value: "not json" }]);
    const group = `${topic}-g`;
    await scraped("kafka2mongo", "tools/kafka2mongo.ts", ["--topic", topic, "--group", group, "--db", "toolkit_tests", "--collection", topic]);
    await scraped("produce-test-data", "tools/produce-test-data.ts", ["--topic", topic, "--rate", "200", "--duration", "150", "--bad-ratio", "0.02"]);
    await scraped("consumer-lag", "tools/consumer-lag.ts", ["--group", group, "--interval", "1"], "--serve");
    await scraped("mongo-health", "tools/mongo-health.ts", ["--db", "toolkit_tests", "--interval", "1"], "--serve");

    await waitForQuery(`count(up{job=~"kafka2mongo|produce-test-data|consumer-lag|mongo-health"} == 1) == 4`, "Prometheus to scrape all four targets", 60_000);
    const missing = new Set(dashboardQueries().map((q) => `${q.where}: ${q.expr}`));
    const queries = dashboardQueries();
    await waitFor(
      async () => {
        for (const q of queries) {
          if ((await query(q.expr)).length > 0) missing.delete(`${q.where}: ${q.expr}`);
        }
        return missing.size === 0;
      },
      "every dashboard panel's query to return data",
      90_000,
    ).catch((error) => {
      throw new Error(`${(error as Error).message}; still empty:\n${[...missing].join("\n")}`);
    });
    expect(missing.size).toBe(0);
    const written = await query(`sum(kafka_toolkit_messages_written_total{topic="${topic}"})`);
    expect(Number(written[0]!.value[1])).toBeGreaterThanOrEqual(500);
  });

  test("the lag alert fires when a group falls behind", async () => {
    const topic = uniqueName("lagging");
    const group = `${topic}-g`;
    await createTopic(topic, 2);
    await produceJson(topic, 10_500);
    // The group exists with offsets at 0 and nobody consuming: 10,500 behind.
    await withAdmin(undefined, (admin) =>
      admin.setOffsets({ groupId: group, topic, partitions: [0, 1].map((partition) => ({ partition, offset: "0" })) }),
    );
    const rules = Bun.YAML.parse(await Bun.file(join(ROOT, "config", "monitoring", "alerts.yml")).text()) as {
      groups: { name: string; rules: { alert: string; expr: string; for?: string }[] }[];
    };
    const lagRule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === "ConsumerLagHigh")!;
    const alertName = `ConsumerLagHighTest_${topic.replace(/\W/g, "_")}`;
    // Same expression and threshold, only this test's group, a short `for`.
    const testRule = { ...lagRule, alert: alertName, expr: lagRule.expr.replace("kafka_toolkit_consumer_group_lag", `kafka_toolkit_consumer_group_lag{group="${group}"}`), for: "2s" };
    cleanups.push(await addRules(alertName, Bun.YAML.stringify({ groups: [{ name: alertName, rules: [testRule] }] })));
    await scraped("consumer-lag", "tools/consumer-lag.ts", ["--group", group, "--interval", "1"], "--serve");

    await waitFor(
      async () => (await prometheusAlerts()).some((a) => a.labels.alertname === alertName && a.state === "firing"),
      `Prometheus to fire ${alertName}`,
      90_000,
    );
    const firing = (await prometheusAlerts()).find((a) => a.labels.alertname === alertName)!;
    expect(firing.labels).toMatchObject({ group, topic, severity: "warning" });
    await waitFor(
      async () => (await alertmanagerAlerts()).some((a) => a.labels.alertname === alertName),
      `Alertmanager to receive ${alertName}`,
      60_000,
    );
  });
});
