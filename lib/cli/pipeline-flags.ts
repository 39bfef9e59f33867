/**
 * Flags shared by every tool built on the streaming engine, so kafka2mongo,
 * kafka2kafka and later pipelines start, stop and report the same way.
 *
 * @example
 * const spec = defineTool({ ..., options: { ...PIPELINE_OPTIONS, topic: {...} } });
 * const { fromBeginning, window, settings } = pipelineRunFlags(flags);
 * await job({ run: { ...settings, log: ctx.log, signal: ctx.signal }, fromBeginning, window, groupId, ... });
 */
import { UsageError } from "../errors.ts";
import { parseTime } from "../kafka/positions.ts";
import type { ReplayWindow } from "../kafka/replay-window.ts";
import type { Flags, OptionSpec } from "./flags.ts";

/** Every long-running tool serves Prometheus metrics with this flag. */
export const METRICS_OPTION = {
  metrics: {
    type: "string",
    value: "ADDR",
    description: "Serve Prometheus metrics on ADDR (:9464 for every interface, 127.0.0.1:9464) at /metrics",
  },
} satisfies Record<string, OptionSpec>;

/** Default --max-outage for runs that must end (--until-caught-up, --max-messages): a cron run gives up. */
export const BOUNDED_RUN_MAX_OUTAGE_S = 300;

export const PIPELINE_OPTIONS = {
  group: { type: "string", value: "G", description: "Consumer group", defaultText: "[section] default_consumer_group_id" },
  "from-beginning": {
    type: "boolean",
    description: "Reset the group to the earliest offsets first (a new group always starts there)",
  },
  "from-time": {
    type: "string",
    value: "TIME",
    description: "Reset the group to each partition's first message at or after TIME first (ISO-8601, UTC unless zoned, or epoch ms)",
  },
  "to-time": {
    type: "string",
    value: "TIME",
    description: "Stop each partition before its first message at or after TIME, then exit 0 (a replay window)",
  },
  "batch-size": { type: "string", value: "N", description: "Most messages per sink write", defaultText: "500" },
  "log-interval": { type: "string", value: "N", description: "Progress line every N messages (and every 10 s)", defaultText: "1000" },
  "until-caught-up": { type: "boolean", description: "Exit 0 once no assigned partition has lag (for cron)" },
  "max-messages": { type: "string", value: "N", description: "Process and commit exactly N messages, then exit 0" },
  "max-outage": {
    type: "string",
    value: "S",
    description: "Exit 1 after a sink outage of S seconds, committing nothing that is not durable",
    defaultText: `${BOUNDED_RUN_MAX_OUTAGE_S} with --until-caught-up or --max-messages, else no limit`,
  },
  "on-error": { type: "string", value: "MODE", description: "dlq: dead-letter and go on; stop: exit 1 at the first bad message", defaultText: "dlq" },
  json: { type: "boolean", description: "Print the final summary as JSON on stdout" },
  ...METRICS_OPTION,
} satisfies Record<string, OptionSpec>;

export type PipelineFlagName = keyof typeof PIPELINE_OPTIONS;

/** How the engine runs, from the flags: the job adds its logger and stop signal. */
export interface PipelineRunFlags {
  fromBeginning: boolean;
  /** --from-time/--to-time; undefined when neither is given. */
  window?: ReplayWindow;
  settings: {
    onError: "dlq" | "stop";
    batchSize: number;
    logInterval: number;
    untilCaughtUp: boolean;
    maxMessages?: number;
    maxOutageMs?: number;
  };
}

export function pipelineRunFlags(flags: Flags<PipelineFlagName>, defaults: { batchSize: number } = { batchSize: 500 }): PipelineRunFlags {
  const fromTime = flags.has("from-time") ? parseTime(flags.string("from-time", ""), "--from-time") : undefined;
  const toTime = flags.has("to-time") ? parseTime(flags.string("to-time", ""), "--to-time") : undefined;
  if (fromTime !== undefined && flags.bool("from-beginning")) throw new UsageError("--from-beginning and --from-time both reset the group; give one");
  if (fromTime !== undefined && toTime !== undefined && toTime < fromTime) throw new UsageError("--to-time is before --from-time");
  // A window's end is where the run ends: the lag counts to it.
  const untilCaughtUp = flags.bool("until-caught-up") || toTime !== undefined;
  const maxMessages = flags.int("max-messages", undefined, { min: 1 });
  const bounded = untilCaughtUp || maxMessages !== undefined;
  const maxOutageS = flags.int("max-outage", undefined, { min: 1 }) ?? (bounded ? BOUNDED_RUN_MAX_OUTAGE_S : undefined);
  return {
    fromBeginning: flags.bool("from-beginning"),
    window: fromTime === undefined && toTime === undefined ? undefined : { fromTime, toTime },
    settings: {
      onError: flags.choice("on-error", ["dlq", "stop"] as const, "dlq"),
      batchSize: flags.int("batch-size", defaults.batchSize, { min: 1, max: 100_000 }),
      logInterval: flags.int("log-interval", 1000, { min: 1 }),
      untilCaughtUp,
      maxMessages,
      maxOutageMs: maxOutageS === undefined ? undefined : maxOutageS * 1000,
    },
  };
}
