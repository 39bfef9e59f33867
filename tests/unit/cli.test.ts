import { describe, expect, test } from "bun:test";
import { UsageError } from "../../lib/errors.ts";
import { defineTool, parseFlags } from "../../lib/cli/flags.ts";
import { helpText } from "../../lib/cli/help.ts";
import { runToolForCode } from "../../lib/cli/run.ts";

const spec = defineTool({
  name: "demo-tool",
  summary: "A tool for tests.",
  options: {
    topic: { type: "string", value: "T", description: "Topic", multiple: true },
    count: { type: "string", value: "N", description: "How many", defaultText: "10" },
    mode: { type: "string", value: "M", description: "dlq or stop" },
    "dry-run": { type: "boolean", description: "Do nothing" },
  },
  examples: ["bun tools/demo-tool.ts --topic a --count 5"],
});

function usageError(argv: string[]): string {
  try {
    const flags = parseFlags(spec, argv);
    flags.int("count", 10, { min: 1 });
    flags.choice("mode", ["dlq", "stop"] as const, "dlq");
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("cli flags", () => {
  test("typed getters with fallbacks", () => {
    const flags = parseFlags(spec, ["--topic", "a", "--topic", "b", "--count", "5", "--dry-run"]);
    expect(flags.list("topic")).toEqual(["a", "b"]);
    expect(flags.int("count", 10)).toBe(5);
    expect(flags.bool("dry-run")).toBe(true);
    expect(flags.choice("mode", ["dlq", "stop"] as const, "dlq")).toBe("dlq");
    expect(flags.string("config", "database.ini")).toBe("database.ini");
  });

  test.each([
    [["--nope"], "unknown flag --nope (see --help)"],
    [["--count"], "flag --count needs a value"],
    [["--count", "x"], "--count must be a whole number, got 'x'"],
    [["--count", "1.5"], "--count must be a whole number, got '1.5'"],
    [["--count", "0"], "--count must be >= 1, got 0"],
    [["--mode", "retry"], "--mode must be one of dlq, stop, got 'retry'"],
    [["stray"], "unexpected argument 'stray'"],
  ])("%p gives a one-line usage error", (argv, expected) => {
    const message = usageError(argv);
    expect(message).toContain(expected);
    expect(message).not.toContain("\n");
  });

  test("help shows flags, common flags, examples and exit codes", () => {
    const text = helpText(spec);
    expect(text).toContain("Usage: bun tools/demo-tool.ts [flags]");
    expect(text).toContain("--topic T");
    expect(text).toContain("(repeatable)");
    expect(text).toContain("--config PATH");
    expect(text).toContain("bun tools/demo-tool.ts --topic a --count 5");
    expect(text).toContain("2 usage or configuration error");
  });

  test("runTool maps usage and config errors to 2, failures to 1", async () => {
    const ok = await runToolForCode(spec, async () => 0, ["--log-dir", "none"]);
    expect(ok).toBe(0);
    const usage = await runToolForCode(spec, async () => 0, ["--bogus"]);
    expect(usage).toBe(2);
    const config = await runToolForCode(
      spec,
      async (_flags, ctx) => {
        ctx.config();
      },
      ["--log-dir", "none", "--config", "/nonexistent/database.ini"],
    );
    expect(config).toBe(2);
    const failure = await runToolForCode(
      spec,
      async () => {
        throw new Error("broker down");
      },
      ["--log-dir", "none"],
    );
    expect(failure).toBe(1);
  });
});
