/**
 * Errors every tool maps to an exit code: a {@link UsageError} or a
 * {@link ConfigError} exits 2, anything else exits 1 (see lib/cli/run.ts).
 *
 * @example
 * throw new UsageError("--batch-size must be a whole number >= 1, got 'x'");
 */

/** A flag or argument on the command line is wrong. Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A configuration file, section or key is wrong or missing. Exit code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Exit code for an error: 2 for usage and configuration, 1 for the rest. */
export function exitCodeFor(error: unknown): 1 | 2 {
  return error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
}

/** One line describing an error, whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message.split("\n")[0] ?? error.name;
  return String(error);
}
