/**
 * How long `bun tools/<tool>.ts --help` takes for every tool: the median of
 * several runs each, as a new user feels it. The target is under 150 ms,
 * which holds only while heavy modules (kafkajs, mongodb) load after the
 * flags are parsed. The reference is bun starting an empty script. Wall time
 * swings with the machine's load, so CPU time (user + system) is shown too.
 *
 * Usage: bun bench/help-latency.ts [--runs 5] [--compare OTHER_CHECKOUT]
 *   --compare runs the same tools of another checkout (e.g. main before a
 *   change) interleaved with this one's, so both see the same load.
 */
import { readdirSync } from "node:fs";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

function flagValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

const RUNS = Number(flagValue("--runs") ?? 5);
const COMPARE = flagValue("--compare");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

function timeRun(argv: string[], cwd: string): Timing {
  const started = performance.now();
  const result = Bun.spawnSync(argv, { cwd, stdout: "ignore", stderr: "pipe" });
  const wallMs = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${result.exitCode}: ${result.stderr.toString().trim()}`);
  const cpu = result.resourceUsage.cpuTime;
  return { wallMs, cpuMs: Number(cpu.user + cpu.system) / 1000 };
}

interface Case {
  label: string;
  argv: string[];
  cwd: string;
  timings: Timing[];
}

const cases: Case[] = [{ label: "reference: bun -e ''", argv: [process.execPath, "-e", ""], cwd: ROOT, timings: [] }];
const tools = readdirSync(resolve(ROOT, "tools")).filter((f) => f.endsWith(".ts")).sort();
for (const file of tools) {
  const name = file.replace(/\.ts$/, "");
  cases.push({ label: name, argv: [process.execPath, `tools/${file}`, "--help"], cwd: ROOT, timings: [] });
  if (COMPARE) cases.push({ label: `${name} (${COMPARE})`, argv: [process.execPath, `tools/${file}`, "--help"], cwd: COMPARE, timings: [] });
}

for (const c of cases) timeRun(c.argv, c.cwd); // warm the file cache and bun's transpiler cache
for (let run = 0; run < RUNS; run++) for (const c of cases) c.timings.push(timeRun(c.argv, c.cwd));

console.log(`--help, median of ${RUNS} runs each (runs interleaved across tools)`);
for (const c of cases) {
  const wall = median(c.timings.map((t) => t.wallMs));
  const cpu = median(c.timings.map((t) => t.cpuMs));
  const runs = c.timings.map((t) => t.wallMs.toFixed(0)).join(" ");
  console.log(`${c.label.padEnd(40)} wall ${wall.toFixed(0).padStart(4)} ms  cpu ${cpu.toFixed(0).padStart(4)} ms   wall runs: ${runs}`);
}
