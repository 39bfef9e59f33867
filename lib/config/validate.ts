/**
 * Turns a zod failure on one config section into a one-line ConfigError that
 * names the file, the section and the key, and never echoes a secret.
 *
 * @example
 * const result = schema.safeParse(values);
 * if (!result.success) throw sectionError(source.path, "mongodb", result.error);
 */
import type { z } from "zod";
import { ConfigError } from "../errors.ts";

export function sectionError(path: string, section: string, error: z.ZodError): ConfigError {
  const issue = error.issues[0];
  const key = issue?.path.length ? String(issue.path[0]) : undefined;
  const where = key ? `[${section}] ${key}` : `[${section}]`;
  return new ConfigError(`${path}: ${where}: ${issue?.message ?? "invalid"}`);
}
