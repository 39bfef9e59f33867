/**
 * config/monitoring/ checked by Prometheus's and Alertmanager's own tools:
 * the configurations load, every alert rule is valid and unit-tested, and
 * the dashboards and compose services point at these files.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/stack-fixtures.ts";
import { stackPrometheusConfig } from "../../stack/prometheus.ts";

const MONITORING = join(ROOT, "config", "monitoring");

async function run(argv: string[]): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(argv, { cwd: MONITORING, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: out + err };
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
}
const alertRules = (Bun.YAML.parse(await Bun.file(join(MONITORING, "alerts.yml")).text()) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

describe("config/monitoring", () => {
  test("promtool check config: the deployment's and the local stack's prometheus.yml", async () => {
    const deployment = await run(["promtool", "check", "config", "prometheus.yml"]);
    expect(deployment.output).toContain("SUCCESS");
    expect(deployment.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "kt-prom-"));
    writeFileSync(join(dir, "prometheus.yml"), stackPrometheusConfig({ prometheus: 9090, alertmanager: 9093 }));
    const stack = await run(["promtool", "check", "config", join(dir, "prometheus.yml")]);
    expect(stack.output).toContain("SUCCESS");
    expect(stack.code).toBe(0);
  });

  test("promtool check rules: seed 003's and seed 001's alerts", async () => {
    const result = await run(["promtool", "check", "rules", "alerts.yml"]);
    expect(result.code).toBe(0);
    expect(alertRules.map((r) => r.alert).sort()).toEqual(
      ["ConsumerLagHigh", "DeadLettersGrowing", "KafkaBrokerLost", "KafkaUnreachable", "MongoDBDown", "PipelineStalled", "ServiceDown", "SinkErrors"],
    );
    // Seed 003: unreachable for 1 minute; lag above 10,000 for 5 minutes.
    expect(alertRules.find((r) => r.alert === "ServiceDown")).toMatchObject({ expr: "up == 0", for: "1m" });
    expect(alertRules.find((r) => r.alert === "ConsumerLagHigh")).toMatchObject({ for: "5m" });
    expect(alertRules.find((r) => r.alert === "ConsumerLagHigh")!.expr).toContain("> 10000");
  });

  test("promtool test rules: a unit test for every alert", async () => {
    const result = await run(["promtool", "test", "rules", "tests/alerts.test.yml"]);
    expect(result.output).toContain("SUCCESS");
    expect(result.code).toBe(0);
    const tests = Bun.YAML.parse(await Bun.file(join(MONITORING, "tests", "alerts.test.yml")).text()) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const firedInTests = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    for (const rule of alertRules) expect(firedInTests.has(rule.alert) ? rule.alert : `${rule.alert} (no test fires it)`).toBe(rule.alert);
  });

  test("amtool check-config: alertmanager.yml", async () => {
    const result = await run(["amtool", "check-config", "alertmanager.yml"]);
    expect(result.output).toContain("SUCCESS");
    expect(result.code).toBe(0);
  });

  test("dashboards: overview, pipelines, lag and MongoDB, every panel a Prometheus query", async () => {
    const files = readdirSync(join(MONITORING, "grafana", "dashboards")).sort();
    expect(files).toEqual(["lag.json", "mongodb.json", "overview.json", "pipelines.json"]);
    const uids = new Set<string>();
    for (const file of files) {
      const dashboard = JSON.parse(await Bun.file(join(MONITORING, "grafana", "dashboards", file)).text());
      uids.add(dashboard.uid);
      expect(dashboard.panels.length).toBeGreaterThan(3);
      for (const panel of dashboard.panels) {
        expect(panel.targets.length).toBeGreaterThan(0);
        for (const target of panel.targets) {
          expect(target.datasource.uid).toBe("prometheus");
          expect(target.expr).toMatch(/\S/);
        }
      }
    }
    expect(uids.size).toBe(4);
    const datasources = Bun.YAML.parse(await Bun.file(join(MONITORING, "grafana", "provisioning", "datasources", "prometheus.yml")).text()) as {
      datasources: { uid: string }[];
    };
    expect(datasources.datasources[0]!.uid).toBe("prometheus");
  });

  test("docker-compose.yml runs prometheus, alertmanager and grafana with these files mounted", async () => {
    const compose = Bun.YAML.parse(await Bun.file(join(ROOT, "docker-compose.yml")).text()) as {
      services: Record<string, { image: string; volumes?: string[] }>;
    };
    const mounts = (name: string) => (compose.services[name]?.volumes ?? []).map((v) => v.split(":")[0]!).filter((v) => v.startsWith("./"));
    expect(mounts("prometheus").sort()).toEqual(["./config/monitoring/alerts.yml", "./config/monitoring/prometheus.yml"]);
    expect(mounts("alertmanager")).toEqual(["./config/monitoring/alertmanager.yml"]);
    expect(mounts("grafana").sort()).toEqual(["./config/monitoring/grafana/dashboards", "./config/monitoring/grafana/provisioning"]);
    for (const path of [...mounts("prometheus"), ...mounts("alertmanager"), ...mounts("grafana")]) expect(existsSync(join(ROOT, path))).toBe(true);
  });
});
