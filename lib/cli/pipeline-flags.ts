/**
 * Flags shared by every tool built on the streaming engine, so kafka2mongo,
 * kafka2kafka and later pipelines start, stop and report the same way.
 *
 * @example
 * const spec = defineTool({ ..., options: { ...PIPELINE_OPTIONS, topic: {...} } });
 * const run = pipelineRunFlags(flags); // { batchSize: 500, untilCaughtUp: false, ... }
 * await job({ ...run, groupId: flags.string("group") ?? section.defaultGroupId, ... });
 */
import type { Flags, OptionSpec } from "./flags.ts";

/** Every long-running tool serves Prometheus metrics with this flag. */
export const METRICS_OPTION: Record<string, OptionSpec> = {
  metrics: {
    type: "string",
    value: "ADDR",
    description: "Serve Prometheus metrics on ADDR (:9464 for every interface, 127.0.0.1:9464) at /metrics",
  },
};

export const PIPELINE_OPTIONS: Record<string, OptionSpec> = {
  group: { type: "string", value: "G", description: "Consumer group", defaultText: "[section] default_consumer_group_id" },
  "from-beginning": {
    type: "boolean",
    description: "Reset the group to the earliest offsets first (a new group always starts there)",
  },
  "batch-size": { type: "string", value: "N", description: "Most messages per sink write", defaultText: "500" },
  "log-interval": { type: "string", value: "N", description: "Progress line every N messages (and every 10 s)", defaultText: "1000" },
  "until-caught-up": { type: "boolean", description: "Exit 0 once no assigned partition has lag (for cron)" },
  "max-messages": { type: "string", value: "N", description: "Process and commit exactly N messages, then exit 0" },
  json: { type: "boolean", description: "Print the final summary as JSON on stdout" },
  ...METRICS_OPTION,
};

/**
 * How the engine runs, from the flags: only values every job passes on as they
 * are. --group and --json are read by the tools, which resolve the group
 * against the config, so nothing here can overwrite a resolved value with
 * undefined when spread into a job's options.
 */
export interface PipelineRunFlags {
  fromBeginning: boolean;
  batchSize: number;
  logInterval: number;
  untilCaughtUp: boolean;
  maxMessages?: number;
}

export function pipelineRunFlags(flags: Flags, defaults: { batchSize: number } = { batchSize: 500 }): PipelineRunFlags {
  return {
    fromBeginning: flags.bool("from-beginning"),
    batchSize: flags.int("batch-size", defaults.batchSize, { min: 1, max: 100_000 }),
    logInterval: flags.int("log-interval", 1000, { min: 1 }),
    untilCaughtUp: flags.bool("until-caught-up"),
    maxMessages: flags.int("max-messages", undefined, { min: 1 }),
  };
}
