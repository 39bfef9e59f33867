/**
 * The validate step: checks field types with a zod schema built from the
 * pipeline file's declaration. Fields not declared pass untouched. The first
 * problem becomes the error reason, naming the field.
 *
 * Types: string, non-empty-string, number, integer, boolean, object, array,
 * ip (an IPv4 or IPv6 address), epoch (a non-negative integer: seconds, or
 * milliseconds above 10^11). A trailing `?` makes a field optional (it may be
 * absent or null).
 *
 * @example
 * const step = validateStep({ user_id: "non-empty-string", timestamp: "epoch" });
 * step.run({ user_id: "", timestamp: 1742331926 });
 * // { kind: "error", reason: "field 'user_id' is '', expected a non-empty string" }
 */
import { isIP } from "node:net";
import { z } from "zod";
import { describeValue, next, rejected, type Step } from "./step.ts";

export const FIELD_TYPES = ["string", "non-empty-string", "number", "integer", "boolean", "object", "array", "ip", "epoch"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** A field type as written in a pipeline file: a {@link FieldType}, optionally with a trailing `?`. */
export type FieldTypeSpec = FieldType | `${FieldType}?`;

const EXPECTED: Record<FieldType, string> = {
  string: "a string",
  "non-empty-string": "a non-empty string",
  number: "a number",
  integer: "an integer",
  boolean: "true or false",
  object: "an object",
  array: "an array",
  ip: "an IP address",
  epoch: "an epoch integer (seconds, or milliseconds above 10^11)",
};

function typeSchema(type: FieldType): z.ZodType {
  switch (type) {
    case "string":
      return z.string();
    case "non-empty-string":
      return z.string().min(1);
    case "number":
      return z.number();
    case "integer":
      return z.number().int();
    case "boolean":
      return z.boolean();
    case "object":
      return z.record(z.string(), z.unknown());
    case "array":
      return z.array(z.unknown());
    case "ip":
      return z.string().refine((text) => isIP(text) !== 0);
    case "epoch":
      return z.number().int().nonnegative();
  }
}

/** Splits `integer?` into its type and optionality; undefined for an unknown type. */
export function parseFieldType(spec: string): { type: FieldType; optional: boolean } | undefined {
  const optional = spec.endsWith("?");
  const type = (optional ? spec.slice(0, -1) : spec) as FieldType;
  return FIELD_TYPES.includes(type) ? { type, optional } : undefined;
}

/**
 * The zod schema of a declaration: only the declared fields are checked. A
 * plain (stripping) object: the step ignores the parsed copy, and a loose one
 * would copy every undeclared field of every event.
 */
export function schemaOf(fields: Readonly<Record<string, FieldTypeSpec>>): z.ZodType {
  const shape: Record<string, z.ZodType> = {};
  for (const [field, spec] of Object.entries(fields)) {
    const parsed = parseFieldType(spec);
    if (!parsed) throw new Error(`unknown field type '${spec}' for '${field}'`);
    shape[field] = parsed.optional ? typeSchema(parsed.type).nullish() : typeSchema(parsed.type);
  }
  return z.object(shape);
}

export function validateStep(fields: Readonly<Record<string, FieldTypeSpec>>): Step {
  const schema = schemaOf(fields);
  return {
    name: "validate",
    run(event) {
      const result = schema.safeParse(event);
      if (result.success) return next(event);
      const issue = result.error.issues[0]!;
      const field = String(issue.path[0] ?? "");
      const type = parseFieldType(fields[field] ?? "")?.type;
      const value = event[field];
      if (value === undefined) return rejected(`missing field '${field}'`);
      return rejected(`field '${field}' is ${describeValue(value)}, expected ${type ? EXPECTED[type] : issue.message}`);
    },
  };
}
