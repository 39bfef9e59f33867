import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, fileStamp } from "../../lib/log/logger.ts";
import { createProgress, formatStatusLine } from "../../lib/log/progress.ts";
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

  test("secrets are masked at any depth: nested objects, arrays, errors", () => {
    const { log, lines } = capture("json");
    const cycle: Record<string, unknown> = { name: "loop" };
    cycle.self = cycle;
    log.warn("retrying", {
      kafka: { name: "remote", sasl: { username: "u", password: "hunter2" } },
      targets: [{ uri: "postgres://app:s3cret@db/x" }, { api_key: "k-123" }],
      error: new Error("cannot reach mongodb://app:s3cret@db/"),
      cycle,
      topics: { "password-resets": { copied: 3 } },
    });
    const line = JSON.parse(lines[0]!);
    expect(line.kafka).toEqual({ name: "remote", sasl: { username: "u", password: "***" } });
    expect(line.targets).toEqual([{ uri: "postgres://app:***@db/x" }, { api_key: "***" }]);
    expect(line.error).toBe("cannot reach mongodb://app:***@db/");
    expect(line.cycle).toEqual({ name: "loop", self: "[circular]" });
    // Data keyed by name is walked, not masked, when a name looks like a secret.
    expect(line.topics).toEqual({ "password-resets": { copied: 3 } });
    for (const secret of ["hunter2", "s3cret", "k-123"]) expect(lines[0]).not.toContain(secret);
  });

  test.each([
    ["postgres://db:5432/x?sslmode=require&password=s3cret", "postgres://db:5432/x?sslmode=require&password=***"],
    ["http://registry/apis?access_token=s3cret&x=1", "http://registry/apis?access_token=***&x=1"],
    ["mongodb://h/?authMechanism=SCRAM-SHA-256&tlsCertificateKeyFilePassword=s3cret", "mongodb://h/?authMechanism=SCRAM-SHA-256&tlsCertificateKeyFilePassword=***"],
    // An unescaped / or @ in a password: masked whole, up to the host.
    ["mongodb://app:pa/ss@db:27017/x", "mongodb://app:***@db:27017/x"],
    ["mongodb://app:p@ss@db:27017/x?appName=a", "mongodb://app:***@db:27017/x?appName=a"],
    // Nothing secret: left as written.
    ["http://registry:8081/apis/ccompat/v7?subject=a@b", "http://registry:8081/apis/ccompat/v7?subject=a@b"],
  ])("redactUri(%p)", (text, expected) => {
    expect(redactUri(text)).toBe(expected);
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

describe("live status line", () => {
  function onTerminal(columns = 60) {
    const lines: string[] = [];
    let screen = "";
    const dir = mkdtempSync(join(tmpdir(), "kt-status-"));
    const log = createLogger({
      tool: "t",
      format: "pretty",
      dir,
      write: (l) => lines.push(l),
      terminal: { write: (text) => void (screen += text), columns: () => columns },
      now: () => new Date("2026-11-22T04:05:06.007Z"),
    });
    return { log, lines, screen: () => screen, file: () => readFileSync(log.filePath!, "utf8") };
  }

  test("on a terminal progress is one rewritten line; the log file still gets every progress line", () => {
    const t = onTerminal();
    t.log.progress!("progress", { messages: 1000 }, "progress 1,000 msgs");
    t.log.warn("retrying", { attempt: 1 });
    t.log.progress!("progress", { messages: 2000 }, "progress 2,000 msgs");
    t.log.close();
    // Scrolling output has the warning only; the status line is redrawn in place.
    expect(t.lines).toEqual(["2026-11-22T04:05:06.007Z WARN  retrying attempt=1"]);
    expect(t.screen()).toBe(
      "\r\x1b[Kprogress 1,000 msgs" + "\r\x1b[K" + "progress 1,000 msgs" + "\r\x1b[Kprogress 2,000 msgs" + "\r\x1b[K",
    );
    expect(t.file().split("\n").filter(Boolean)).toEqual([
      "2026-11-22T04:05:06.007Z INFO  progress messages=1000",
      "2026-11-22T04:05:06.007Z WARN  retrying attempt=1",
      "2026-11-22T04:05:06.007Z INFO  progress messages=2000",
    ]);
  });

  test("the status line is cut to the terminal width, so it never wraps", () => {
    const t = onTerminal();
    t.log.status!("x".repeat(200));
    expect(t.screen()).toBe("\r\x1b[K" + "x".repeat(59));
  });

  test("off a terminal progress lines are log lines as before", () => {
    const { log, lines } = capture("pretty");
    expect(log.status).toBeUndefined();
    log.progress!("progress", { messages: 5 }, "ignored");
    expect(lines).toEqual(["2026-11-22T04:05:06.007Z INFO  progress messages=5"]);
  });

  test("createProgress redraws the status line with rate, lag and time left to catch up", async () => {
    const t = onTerminal(200);
    const progress = createProgress({ logger: t.log, everyMessages: 1_000_000, statusEveryMs: 20, fields: () => ({ written: 900, dead_lettered: 0 }) });
    progress.record(900, 90_000);
    progress.setLag(4000);
    await Bun.sleep(120);
    progress.stop();
    const drawn = t.screen().split("\r\x1b[K").filter(Boolean);
    expect(drawn.length).toBeGreaterThan(1);
    expect(drawn[0]).toMatch(/^progress 900 msgs {2}[\d,]+ msg\/s {2}90\.0 kB {2}lag 4,000 {2}(caught up in \d+s|not catching up) {2}written 900$/);
    expect(t.screen().endsWith("\r\x1b[K")).toBe(true);
    expect(t.lines).toEqual([]);
  });

  test("formatStatusLine says how long catching up takes at the current rate", () => {
    const totals = { messages: 120_000, bytes: 117_000_000, elapsedMs: 24_000, messagesPerSec: 5000, bytesPerSec: 0, lag: 30_000 };
    expect(formatStatusLine({ label: "progress", totals, rate: 5000, extra: { written: 120_000, skipped: 0 } })).toBe(
      "progress 120,000 msgs  5,000 msg/s  117.0 MB  lag 30,000  caught up in 6s  written 120,000",
    );
    expect(formatStatusLine({ label: "p", totals: { ...totals, lag: 900_000 }, rate: 100, extra: {} })).toContain("caught up in 2h30m");
    expect(formatStatusLine({ label: "p", totals, rate: 0, extra: {} })).toContain("lag 30,000  not catching up");
    expect(formatStatusLine({ label: "p", totals: { ...totals, lag: 0 }, rate: 0, extra: {} })).toContain("lag 0  caught up");
  });
});
