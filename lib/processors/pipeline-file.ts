/**
 * The pipeline file of process-events (config/pipelines/*.json): input topic,
 * output topics, summary settings and the processing steps, validated with
 * zod. Anything wrong (an unknown step or key, a wrong type, a missing hash
 * key) is one ConfigError line naming the file and the place, e.g.
 * `config/pipelines/x.json: steps[4] (hash): unknown key 'algo'`.
 *
 * @example
 * const pipeline = loadPipelineFile("config/pipelines/user-login.json");
 * const steps = buildEventSteps(pipeline, { env: process.env });
 * processEvent(record.value, steps); // { kind: "processed", event } | { kind: "filtered", ... } | { kind: "error", ... }
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError, errorMessage } from "../errors.ts";
import { DECODERS, decodeStep, type Decoder } from "./decode.ts";
import { defaultsStep } from "./defaults.ts";
import { dropStep } from "./drop.ts";
import type { EventSteps } from "./event-steps.ts";
import { filterStep } from "./filter.ts";
import { hashStep } from "./hash.ts";
import { renameStep } from "./rename.ts";
import { requireStep } from "./require.ts";
import type { Step } from "./step.ts";
import { timestampStep } from "./timestamp.ts";
import { FIELD_TYPES, parseFieldType, validateStep, type FieldTypeSpec } from "./validate.ts";

const field = z.string().min(1);
const fields = z.array(field).min(1);
const topic = z.string().min(1);
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** HMAC keys shorter than this are guessable; the file refuses them. */
export const MIN_HASH_KEY_BYTES = 16;

const STEP_SCHEMAS = {
  decode: z.strictObject({ step: z.literal("decode"), format: z.string().default("json") }),
  require: z.strictObject({ step: z.literal("require"), fields }),
  validate: z.strictObject({
    step: z.literal("validate"),
    fields: z.record(field, z.string().refine((t) => parseFieldType(t) !== undefined, {
      error: `expected one of ${FIELD_TYPES.join(", ")} (a trailing ? makes it optional)`,
    })),
  }),
  defaults: z.strictObject({ step: z.literal("defaults"), values: z.record(field, scalar) }),
  filter: z.strictObject({
    step: z.literal("filter"),
    field,
    equals: z.union([scalar, z.array(scalar).min(1)]),
    exclude: z.boolean().default(false),
  }),
  hash: z.strictObject({
    step: z.literal("hash"),
    fields,
    algorithm: z.enum(["sha256", "hmac-sha256"]).default("sha256"),
    /** The HMAC key itself; prefer key_env. */
    key: z.string().min(MIN_HASH_KEY_BYTES).optional(),
    /** Environment variable holding the HMAC key. */
    key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  }),
  timestamp: z.strictObject({ step: z.literal("timestamp"), field, unit: z.enum(["auto", "s", "ms"]).default("auto") }),
  rename: z.strictObject({ step: z.literal("rename"), fields: z.record(field, field) }),
  drop: z.strictObject({ step: z.literal("drop"), fields }),
} as const;

export const STEP_KINDS = Object.keys(STEP_SCHEMAS) as (keyof typeof STEP_SCHEMAS)[];

const stepSchema = z.discriminatedUnion("step", Object.values(STEP_SCHEMAS) as [typeof STEP_SCHEMAS.decode, ...z.ZodObject[]]);

export const pipelineFileSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  input: z.strictObject({ topic }),
  outputs: z.strictObject({
    processed: topic,
    errors: topic,
    /** Filtered events go here when set; otherwise they are only counted. */
    filtered: topic.nullable().default(null),
    summary: topic.nullable().default(null),
  }),
  summary: z
    .strictObject({
      every: z.int().min(1).default(1000),
      /** Summary field → event field counted over processed events. */
      count: z.record(field, field).default({}),
    })
    .default({ every: 1000, count: {} }),
  steps: z.array(z.unknown()).min(1),
});

export type StepDefinition = { [K in keyof typeof STEP_SCHEMAS]: z.infer<(typeof STEP_SCHEMAS)[K]> }[keyof typeof STEP_SCHEMAS];

export type PipelineDefinition = Omit<z.infer<typeof pipelineFileSchema>, "steps"> & {
  steps: StepDefinition[];
  /** Where it was read from, for error messages. */
  file: string;
};

/** Reads and validates a pipeline file; ConfigError with one line on any problem. */
export function loadPipelineFile(file: string): PipelineDefinition {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`${file}: cannot read the pipeline file: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON: ${errorMessage(error)}`);
  }
  return parsePipeline(json, file);
}

/** Validates a parsed pipeline file. */
export function parsePipeline(json: unknown, file: string): PipelineDefinition {
  const top = pipelineFileSchema.safeParse(json);
  if (!top.success) throw new ConfigError(`${file}: ${describeIssue(top.error.issues[0]!)}`);
  const steps: StepDefinition[] = top.data.steps.map((raw, index) => {
    const place = `steps[${index}]`;
    const kind = (raw as { step?: unknown } | null)?.step;
    if (typeof kind !== "string" || !STEP_KINDS.includes(kind as never)) {
      const got = kind === undefined ? "no 'step' key" : `unknown step ${JSON.stringify(kind)}`;
      throw new ConfigError(`${file}: ${place}: ${got} (steps: ${STEP_KINDS.join(", ")})`);
    }
    const parsed = stepSchema.safeParse(raw);
    if (!parsed.success) throw new ConfigError(`${file}: ${place} (${kind}): ${describeIssue(parsed.error.issues[0]!)}`);
    return parsed.data as StepDefinition;
  });
  const decodes = steps.flatMap((s, i) => (s.step === "decode" ? [i] : []));
  if (decodes.length !== 1 || decodes[0] !== 0) {
    throw new ConfigError(`${file}: steps: the first step, and only the first, must be decode (e.g. {"step": "decode", "format": "json"})`);
  }
  return { ...top.data, steps, file };
}

export interface BuildOptions {
  /** Where hash steps find key_env; process.env in the tool. */
  env: Readonly<Record<string, string | undefined>>;
  /** Replaces the decode step's format (--value-format). */
  format?: string;
  /** Decoders that need set-up (avro, with its schemas), by format name, beside the built-in ones. */
  decoders?: Readonly<Record<string, Decoder>>;
}

/** The decode format a pipeline runs with: the override, or its decode step's. */
export function decodeFormat(pipeline: PipelineDefinition, override?: string): string {
  const first = pipeline.steps[0];
  return override ?? (first?.step === "decode" ? first.format : "json");
}

/** The runnable steps of a pipeline: the decoder and the event steps in order. */
export function buildEventSteps(pipeline: PipelineDefinition, options: BuildOptions): EventSteps {
  const [decode, ...rest] = pipeline.steps;
  if (decode?.step !== "decode") throw new ConfigError(`${pipeline.file}: steps[0] must be decode`);
  const format = decodeFormat(pipeline, options.format);
  const decoders = { ...DECODERS, ...options.decoders };
  const decoder = decoders[format];
  if (!decoder) {
    const known = [...new Set([...Object.keys(decoders), "avro"])].join(", ");
    const problem = format === "avro" ? "format 'avro' needs the Avro schemas set up (--value-format avro)" : `unknown format '${format}'`;
    throw new ConfigError(`${pipeline.file}: steps[0] (decode): ${problem} (formats: ${known})`);
  }
  return {
    decode: decodeStep(decoder),
    steps: rest.map((definition, i) => buildStep(definition, `${pipeline.file}: steps[${i + 1}] (${definition.step})`, options)),
  };
}

function buildStep(definition: StepDefinition, place: string, options: BuildOptions): Step {
  switch (definition.step) {
    case "decode":
      throw new ConfigError(`${place}: only the first step may decode`);
    case "require":
      return requireStep(definition.fields);
    case "validate":
      return validateStep(definition.fields as Record<string, FieldTypeSpec>);
    case "defaults":
      return defaultsStep(definition.values);
    case "filter":
      return filterStep({
        field: definition.field,
        equals: Array.isArray(definition.equals) ? definition.equals : [definition.equals],
        exclude: definition.exclude,
      });
    case "hash":
      return hashStep({ fields: definition.fields, key: hashKey(definition, place, options.env) });
    case "timestamp":
      return timestampStep({ field: definition.field, unit: definition.unit });
    case "rename":
      return renameStep(definition.fields);
    case "drop":
      return dropStep(definition.fields);
  }
}

function hashKey(
  definition: Extract<StepDefinition, { step: "hash" }>,
  place: string,
  env: BuildOptions["env"],
): Buffer | undefined {
  if (definition.algorithm === "sha256") {
    if (definition.key !== undefined || definition.key_env !== undefined) {
      throw new ConfigError(`${place}: 'key' and 'key_env' need "algorithm": "hmac-sha256"`);
    }
    return undefined;
  }
  if ((definition.key === undefined) === (definition.key_env === undefined)) {
    throw new ConfigError(`${place}: hmac-sha256 needs exactly one of 'key' or 'key_env'`);
  }
  if (definition.key !== undefined) return Buffer.from(definition.key, "utf8");
  const value = env[definition.key_env!];
  if (value === undefined || value === "") throw new ConfigError(`${place}: environment variable ${definition.key_env} (the HMAC key) is not set`);
  if (Buffer.byteLength(value) < MIN_HASH_KEY_BYTES) {
    throw new ConfigError(`${place}: environment variable ${definition.key_env} is shorter than ${MIN_HASH_KEY_BYTES} bytes; use a long random key`);
  }
  return Buffer.from(value, "utf8");
}

/** One line for a zod issue, naming the key at fault; never echoes a value (it may be a key). */
function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
  if (issue.code === "unrecognized_keys") {
    const where = path ? `${path}: ` : "";
    return `${where}unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
  }
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) return `missing key '${path}'`;
  return `${path || "file"}: ${issue.message}`;
}
