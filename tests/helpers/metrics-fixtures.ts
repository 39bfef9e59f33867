/**
 * Reading a tool's Prometheus endpoint in tests: where it listens (from its
 * "metrics endpoint" log line) and the value of a metric in a scrape.
 *
 * @example
 * const url = await metricsUrlOf(tool);
 * const text = await (await fetch(url)).text();
 * sampleValue(text, "kafka_toolkit_messages_written_total", { topic }); // 1000
 */
import { waitFor, type ToolProcess } from "./stack-fixtures.ts";

/** The URL a tool started with `--metrics 127.0.0.1:0` logged (JSON log format). */
export async function metricsUrlOf(tool: ToolProcess, timeoutMs = 30_000): Promise<string> {
  let url: string | undefined;
  await waitFor(
    async () => {
      const line = tool.stderrSoFar().split("\n").find((l) => l.includes('"msg":"metrics endpoint"'));
      url = line ? JSON.parse(line).url : undefined;
      return url !== undefined;
    },
    "the tool to log its metrics endpoint",
    timeoutMs,
  );
  return url!;
}

/** Sum of the samples of `name` whose labels include `labels`, in an exposition text. */
export function sampleValue(text: string, name: string, labels: Record<string, string | number> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(match[3]);
  }
  return sum;
}
