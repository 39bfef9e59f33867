/**
 * The message schemas verify-topic checks against, and a one-line reason per
 * problem so that invalid messages can be counted by cause.
 *
 * @example
 * schemaReasons(MESSAGE_SCHEMAS["user-login"], { user_id: 5 });
 * // ["wrong type user_id: expected string, received number", "missing app_version", ...]
 */
import type { z } from "zod";
import { itemSchema } from "../generate/item.ts";
import { userLoginSchema } from "../generate/user-login.ts";

export const MESSAGE_SCHEMAS = {
  "user-login": userLoginSchema,
  item: itemSchema,
} as const;

export type SchemaName = keyof typeof MESSAGE_SCHEMAS;
export const SCHEMA_NAMES = Object.keys(MESSAGE_SCHEMAS) as SchemaName[];

/** Why `value` does not match `schema`: one reason per problem, none when it matches. */
export function schemaReasons(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join(".") : "value";
    if (issue.code === "invalid_type") {
      // Decided from the input, not the message, which a schema may customise.
      const actual = valueAt(value, issue.path);
      if (actual === undefined) return `missing ${path}`;
      return `wrong type ${path}: expected ${issue.expected}, received ${typeName(actual)}`;
    }
    return `invalid ${path}: ${issue.message}`;
  });
}

function valueAt(value: unknown, path: PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
