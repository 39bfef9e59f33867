/**
 * The local stack's Prometheus and Alertmanager in tests: register scrape
 * targets (file-based discovery), add rule files, reload, query and wait.
 *
 * @example
 * const cleanup = registerTargets("k2m", [{ targets: ["127.0.0.1:41234"], labels: { job: "kafka2mongo" } }]);
 * await waitForQuery('up{job="kafka2mongo"} == 1', "kafka2mongo to be scraped");
 * cleanup();
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ports } from "../../stack/config.ts";
import { PROMETHEUS_RULES_DIR, PROMETHEUS_TARGETS_DIR } from "../../stack/prometheus.ts";
import { waitFor } from "./stack-fixtures.ts";

const stackPorts = ports();
export const PROMETHEUS_URL = `http://127.0.0.1:${stackPorts.prometheus}`;
export const ALERTMANAGER_URL = `http://127.0.0.1:${stackPorts.alertmanager}`;

export interface TargetGroup {
  targets: string[];
  labels?: Record<string, string>;
}

/** Writes a targets file Prometheus picks up by itself; returns its removal. */
export function registerTargets(name: string, groups: TargetGroup[]): () => void {
  const file = join(PROMETHEUS_TARGETS_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify(groups));
  return () => rmSync(file, { force: true });
}

/** Adds a rule file and reloads Prometheus; returns the removal (which reloads again). */
export async function addRules(name: string, yaml: string): Promise<() => Promise<void>> {
  const file = join(PROMETHEUS_RULES_DIR, `${name}.yml`);
  writeFileSync(file, yaml);
  await reloadPrometheus();
  return async () => {
    rmSync(file, { force: true });
    await reloadPrometheus();
  };
}

export async function reloadPrometheus(): Promise<void> {
  const response = await fetch(`${PROMETHEUS_URL}/-/reload`, { method: "POST" });
  if (!response.ok) throw new Error(`Prometheus reload answered ${response.status}: ${await response.text()}`);
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query; throws with Prometheus's own error on a bad expression. */
export async function query(expr: string): Promise<Sample[]> {
  const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
  if (body.status !== "success") throw new Error(`query ${expr} failed: ${body.error}`);
  return body.data!.resultType === "vector" ? body.data!.result : [];
}

export async function waitForQuery(expr: string, what: string, timeoutMs = 60_000): Promise<Sample[]> {
  let result: Sample[] = [];
  await waitFor(async () => (result = await query(expr)).length > 0, what, timeoutMs);
  return result;
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  state: "pending" | "firing" | "inactive";
}

export async function prometheusAlerts(): Promise<PrometheusAlert[]> {
  const body = (await (await fetch(`${PROMETHEUS_URL}/api/v1/alerts`)).json()) as { data: { alerts: PrometheusAlert[] } };
  return body.data.alerts;
}

export async function alertmanagerAlerts(): Promise<Array<{ labels: Record<string, string> }>> {
  return (await (await fetch(`${ALERTMANAGER_URL}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string> }>;
}
