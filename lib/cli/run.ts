/**
 * The frame every tool runs in: parse flags, print --help, build the logger,
 * turn SIGINT/SIGTERM into an AbortSignal for a graceful stop, and map errors
 * to one line on stderr with exit code 2 (usage, configuration) or 1.
 *
 * @example
 * await runTool(spec, async (flags, ctx) => {
 *   const kafka = kafkaSection(ctx.config(), flags.string("kafka", "local_kafka"));
 *   ctx.log.info("connecting", { brokers: kafka.brokers });
 *   return 0;
 * });
 */
import { errorMessage, exitCodeFor, UsageError } from "../errors.ts";
import { redactUri } from "../config/redact.ts";
import { DEFAULT_CONFIG_PATH, loadConfigSource, type ConfigSource } from "../config/source.ts";
import { createLogger, LOG_LEVELS, type Logger } from "../log/logger.ts";
import { parseFlags, type FlagName, type Flags, type ToolSpec } from "./flags.ts";
import { helpText } from "./help.ts";

export interface ToolContext {
  log: Logger;
  /** Loads --config once, on first use, so tools that need no config never read it. */
  config(): ConfigSource;
  /** Aborted on the first SIGINT or SIGTERM; a second one exits at once. */
  signal: AbortSignal;
}

export type ToolMain<Name extends string = string> = (flags: Flags<Name>, ctx: ToolContext) => Promise<number | void>;

/** Runs a tool and exits the process with its code. */
export async function runTool<Spec extends ToolSpec>(spec: Spec, main: ToolMain<FlagName<Spec>>, argv = process.argv.slice(2)): Promise<never> {
  process.exit(await runToolForCode(spec, main, argv));
}

/** Same as {@link runTool} but returns the exit code; used by tests. */
export async function runToolForCode<Spec extends ToolSpec>(spec: Spec, main: ToolMain<FlagName<Spec>>, argv: string[]): Promise<number> {
  let log: Logger | undefined;
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    log?.warn("stopping: finishing the work in flight", { signal });
    stop.abort(signal);
  };
  try {
    const flags: Flags = parseFlags<ToolSpec>(spec, argv);
    if (flags.bool("help")) {
      process.stdout.write(helpText(spec) + "\n");
      return 0;
    }
    const logDir = flags.string("log-dir", "logs");
    log = createLogger({
      tool: spec.name,
      level: flags.choice("log-level", LOG_LEVELS, "info"),
      format: flags.has("log-format") ? flags.choice("log-format", ["pretty", "json"] as const, "json") : undefined,
      dir: logDir === "none" || logDir === "" ? undefined : logDir,
    });
    let config: ConfigSource | undefined;
    const ctx: ToolContext = {
      log,
      config: () => (config ??= loadConfigSource(flags.string("config", DEFAULT_CONFIG_PATH))),
      signal: stop.signal,
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return (await main(flags, ctx)) ?? 0;
  } catch (error) {
    const code = exitCodeFor(error);
    const message = redactUri(errorMessage(error));
    const hint = error instanceof UsageError && !message.includes("--help") ? " (see --help)" : "";
    process.stderr.write(`${spec.name}: ${code === 1 ? "error: " : ""}${message}${hint}\n`);
    if (code === 1) log?.error("failed", { error: message });
    return code;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    log?.close();
  }
}
