import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, fileStamp } from "../../lib/log/logger.ts";
import { createProgress } from "../../lib/log/progress.ts";
import { redactUri } from "../../lib/config/redact.ts";

function capture(format: "pretty" | "json", level: "debug" | "info" = "info") {
  const lines: string[] = [];
  const log = createLogger({
    tool: "t",
    format,
    level,
    write: (l) => lines.push(l),
    now: () => new Date("2026-11-22T04:05:06.007Z"),
  });
  return { log, lines };
}

describe("logger", () => {
  test("json lines carry time, level, tool, message and fields", () => {
    const { log, lines } = capture("json");
    log.info("batch written", { count: 500, offset: 12n });
    expect(JSON.parse(lines[0]!)).toEqual({
      time: "2026-11-22T04:05:06.007Z",
      level: "info",
      tool: "t",
      msg: "batch written",
      count: 500,
      offset: "12",
    });
  });

  test("pretty lines are key=value", () => {
    const { log, lines } = capture("pretty");
    log.warn("retrying", { attempt: 2, reason: "server down" });
    expect(lines[0]).toBe('2026-11-22T04:05:06.007Z WARN  retrying attempt=2 reason="server down"');
  });

  test("levels below the threshold are dropped", () => {
    const { log, lines } = capture("json", "info");
    log.debug("noise");
    log.error("bad");
    expect(lines.length).toBe(1);
    expect(log.enabled("debug")).toBe(false);
  });

  test("secrets are masked in fields and messages", () => {
    const { log, lines } = capture("json");
    log.info("connect mongodb://app:s3cret@db:27017/", { password: "hunter2", sasl_password: "x", uri: "mongodb://u:p@h/" });
    expect(lines[0]).not.toContain("s3cret");
    expect(lines[0]).not.toContain("hunter2");
    expect(lines[0]).not.toContain(":p@");
    expect(redactUri("kafka://u:pw@h:1 and mongodb+srv://a:b@c")).toBe("kafka://u:***@h:1 and mongodb+srv://a:***@c");
  });

  test("a run writes logs/YYYYMMDD_HHMMSS_<tool>.log", () => {
    const dir = mkdtempSync(join(tmpdir(), "kt-logs-"));
    const now = new Date(2026, 10, 22, 4, 5, 6);
    const log = createLogger({ tool: "kafka2mongo", format: "json", dir, write: () => {}, now: () => now });
    log.info("hello");
    log.close();
    expect(fileStamp(now)).toBe("20261122_040506");
    expect(log.filePath).toBe(join(dir, "20261122_040506_kafka2mongo.log"));
    expect(readFileSync(log.filePath!, "utf8")).toContain('"msg":"hello"');
  });
});

describe("progress", () => {
  test("reports every N messages with rates and lag", () => {
    const { log, lines } = capture("json");
    let clock = 0;
    const progress = createProgress({ logger: log, everyMessages: 1000, clock: () => clock });
    clock = 500;
    progress.record(600, 600_000);
    expect(lines.length).toBe(0);
    clock = 1000;
    progress.setLag(42);
    progress.record(600, 600_000);
    expect(lines.length).toBe(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ msg: "progress", messages: 1200, rate: 1200, avg_rate: 1200, lag: 42 });
    progress.record(500, 0);
    expect(lines.length).toBe(1);
    progress.record(400, 0);
    expect(lines.length).toBe(2);
    const totals = progress.stop();
    expect(totals.messages).toBe(2100);
    expect(totals.bytes).toBe(1_200_000);
  });
});
