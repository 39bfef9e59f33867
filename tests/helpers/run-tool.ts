/**
 * Runs a tool as a subprocess, the way a user or cron would, and captures
 * its exit code and output. Killed after a timeout so a hanging tool fails
 * the test instead of stalling the suite.
 *
 * @example
 * const { code, stdout, stderr } = await runTool("tools/verify-topic.ts",
 *   ["--config", "config/local-stack.ini", "--topic", "logins", "--json"],
 *   { timeoutMs: 60_000, env: { KT_MONGODB_PORT: "1" } });
 */
import { constants } from "node:os";
import { resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../..");
export const BUN = resolve(REPO_ROOT, "node_modules/.bin/bun");
export const DENO = resolve(REPO_ROOT, "node_modules/.bin/deno");
/** Deno's compile cache for test runs, inside the project so a fresh clone needs nothing else. */
const DENO_DIR = resolve(REPO_ROOT, "node_modules/.cache/deno");

/** How to start a tool file under each runtime the tools support. */
export function toolCommand(toolFile: string, runtime: "bun" | "deno" = "bun"): string[] {
  const file = resolve(REPO_ROOT, toolFile);
  return runtime === "deno" ? [DENO, "run", "-A", file] : [BUN, file];
}

export interface RunToolOptions {
  /** Kill the tool after this long; default 120 s. */
  timeoutMs?: number;
  /** Added to the current environment; undefined removes a variable. */
  env?: Record<string, string | undefined>;
  /** Working directory; default the repository root. */
  cwd?: string;
  stdin?: string;
  /** Runtime to run the tool under; default bun. */
  runtime?: "bun" | "deno";
}

export interface RunToolResult {
  /** Exit code; 128 + signal number when killed (e.g. 137 after a timeout). */
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `toolFile` (relative to the repository root, or absolute) with `args`. */
export async function runTool(toolFile: string, args: string[], options: RunToolOptions = {}): Promise<RunToolResult> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries({ DENO_DIR, ...process.env, ...options.env })) {
    if (value !== undefined) env[name] = value;
  }
  const proc = Bun.spawn([...toolCommand(toolFile, options.runtime), ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, options.timeoutMs ?? 120_000);
  try {
    const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    await proc.exited;
    return { code: proc.exitCode ?? 128 + signalNumber(proc.signalCode), stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

function signalNumber(signal: NodeJS.Signals | number | null): number {
  if (typeof signal === "number") return signal;
  return signal ? (constants.signals[signal] ?? 0) : 0;
}
