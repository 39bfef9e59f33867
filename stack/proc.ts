/**
 * Process helpers for stack.ts: detached start, pid files, liveness, stop.
 *
 * A pid alone is not trusted: after a reboot or a long pause the number may
 * belong to an unrelated process, so "alive" also requires the process command
 * line to contain a marker (the absolute path of that server's config or data).
 */
import { spawn } from "node:child_process";
import { existsSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, appendFileSync } from "node:fs";
import { createConnection } from "node:net";
import { sleep } from "../lib/backoff.ts";

/** Starts argv in its own session so it outlives the bun process; returns the pid. */
export function startDetached(argv: string[], opts: { cwd: string; logFile: string; env?: Record<string, string> }): number {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("startDetached: empty command");
  appendFileSync(opts.logFile, `\n=== stack.ts: starting at ${new Date().toISOString()}: ${argv.join(" ")}\n`);
  const fd = openSync(opts.logFile, "a");
  try {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, ...opts.env },
    });
    // A spawn failure is also emitted later as 'error'; unheard, it would crash
    // bun after we have already reported it below.
    child.once("error", () => undefined);
    if (child.pid === undefined) throw new Error(`could not start ${cmd} (missing or not executable)`);
    child.unref();
    return child.pid;
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(fd);
  }
}

/** Command line of a live, non-zombie process, or undefined. */
function cmdline(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  if (!existsSync("/proc")) return ""; // no procfs (macOS): trust kill(0)
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return text.length > 0 ? text.replaceAll("\0", " ") : undefined; // empty = zombie
  } catch {
    return undefined;
  }
}

/**
 * True while pid exists and is not a zombie. For a child this run just started:
 * until its exec completes, its command line is still bun's, so the marker
 * check of isAlive would wrongly report it gone.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state !== "Z" && state !== "X";
  } catch {
    return !existsSync("/proc"); // no procfs (macOS): trust kill(0)
  }
}

export function isAlive(pid: number, marker: string): boolean {
  const line = cmdline(pid);
  return line !== undefined && (line === "" || line.includes(marker));
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, "utf8").trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function writePid(pidFile: string, pid: number): void {
  writeFileSync(pidFile, `${pid}\n`);
}

export function removePid(pidFile: string): void {
  rmSync(pidFile, { force: true });
}


/** SIGTERM (or `signal`), then SIGKILL after graceMs. Returns how the process ended. */
export async function stopProcess(
  pid: number,
  marker: string,
  graceMs: number,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<"terminated" | "killed" | "gone"> {
  if (!isAlive(pid, marker)) return "gone";
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(200);
    if (!isAlive(pid, marker)) return awaitReaped(pid, "terminated");
  }
  process.kill(pid, "SIGKILL");
  while (isAlive(pid, marker)) await sleep(100);
  return awaitReaped(pid, "killed");
}

/**
 * Our servers are orphans once `up` exits, so init reaps them, and some inits
 * (this sandbox's, for one) take a moment: wait, up to 5 s, until the zombie
 * is gone so `ps` right after `down` shows nothing of the stack.
 */
async function awaitReaped<T>(pid: number, result: T): Promise<T> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return result;
    }
    await sleep(100);
  }
  return result;
}

/**
 * Pids of processes whose command line contains marker. Catches servers whose
 * pid file was lost (deleted .stack/*.pid, a crashed `up`), so `down` still
 * leaves nothing running. Only our own absolute .stack path is matched.
 */
export function findByMarker(marker: string): number[] {
  if (!existsSync("/proc")) return [];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const line = cmdline(pid);
    if (line?.includes(marker)) pids.push(pid);
  }
  return pids;
}

/**
 * Stack servers of other checkouts (another clone, CI's fresh clone), as
 * checkout root -> pids: they hold the same default ports, and naming them
 * turns "port taken" into something the user can act on.
 */
export function otherCheckoutServers(ownStackDir: string): Map<string, number[]> {
  const found = new Map<string, number[]>();
  if (!existsSync("/proc")) return found;
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const line = cmdline(pid);
    if (line === undefined || !(line.includes("kafka.Kafka ") || line.includes("--sqlite-url=file:"))) continue;
    const root = /(\/\S*)\/\.stack\/(?:local-kafka|remote-kafka|ferretdb)\//.exec(line)?.[1];
    if (root !== undefined && `${root}/.stack` !== ownStackDir) found.set(root, [...(found.get(root) ?? []), pid]);
  }
  return found;
}

/** True if something accepts TCP connections on 127.0.0.1:port. */
export function portInUse(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (inUse: boolean): void => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Last n lines of a file, for failure reports. */
export function tail(file: string, n: number): string {
  if (!existsSync(file)) return "(no log file)";
  const lines = readFileSync(file, "utf8").trimEnd().split("\n");
  return lines.slice(-n).join("\n");
}

/** Runs a command to completion, output appended to logFile; throws with the log tail on failure. */
export async function runLogged(argv: string[], opts: { cwd: string; logFile: string; env?: Record<string, string> }): Promise<void> {
  appendFileSync(opts.logFile, `\n=== stack.ts: ${new Date().toISOString()}: ${argv.join(" ")}\n`);
  const fd = openSync(opts.logFile, "a");
  try {
    const proc = Bun.spawn(argv, { cwd: opts.cwd, stdout: fd, stderr: fd, env: { ...process.env, ...opts.env } });
    const code = await proc.exited;
    if (code !== 0) throw new Error(`${argv[0]} exited with code ${code}; see ${opts.logFile}\n${tail(opts.logFile, 20)}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs fn while holding lockFile. Test suites run `stack.ts up` on their own,
 * often several at once; without the lock two runs would both start a broker.
 * A lock whose holder died is taken over.
 */
export async function withLock<T>(lockFile: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const info = statSync(lockFile, { throwIfNoEntry: false });
    if (info === undefined) continue; // released meanwhile
    const holder = readPid(lockFile);
    // An empty file younger than 2 s is a holder between create and write.
    const stale = holder === undefined ? Date.now() - info.mtimeMs > 2000 : !isRunning(holder);
    if (stale) {
      rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another stack.ts (pid ${holder}) still holds ${lockFile}`);
    if (!announced) console.log(`stack: waiting for another stack.ts (pid ${holder}) to finish`);
    announced = true;
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}
