/**
 * Progress for the long steps of a first install (Maven downloads, Go module
 * downloads and compiles, apt packages): a status line every few seconds that
 * says what is being fetched or built and how far along it is, so a
 * several-minute first run never looks hung. The command's own output is kept
 * and shown only if it fails.
 *
 * A step is a command plus a tracker that reads its output line by line. A new
 * stack server's install uses the trackers here, or brings its own (any object
 * with `line` and `status`).
 *
 * @example
 * await runWithProgress({
 *   label: "Schema Registry jars (Maven)",
 *   argv: ["mvn", "-B", "-f", "stack/registry/pom.xml", "dependency:copy-dependencies"],
 *   cwd: ROOT,
 *   tracker: mavenDownloads(),
 * });
 * // install: Schema Registry jars (Maven): 41 files fetched (18.2 MB), last kafka-clients-3.9.2.jar [12 s]
 * // install: Schema Registry jars (Maven): done in 25 s, 96 files fetched (44.0 MB)
 */

/** Reads a step's output and says where the step stands. */
export interface ProgressTracker {
  /** One line of output; true if the step moved forward. */
  line(text: string): boolean;
  /** Where the step stands, e.g. "12 of 61 modules fetched, last golang.org/x/text". */
  status(): string;
}

export interface StepOptions {
  /** What is fetched or built, and with what, e.g. "Kafka jars (Maven)". */
  label: string;
  argv: string[];
  cwd: string;
  env?: Record<string, string>;
  tracker: ProgressTracker;
  /** A status line at most this often while the step moves; default 3 s. */
  everyMs?: number;
  /** A "still running" line after this long without progress; default 15 s. */
  quietMs?: number;
  /** Where status lines go; default stdout. */
  print?: (line: string) => void;
}

/** The step's command failed; its output's tail has been printed to stderr. */
export class InstallStepError extends Error {
  override name = "InstallStepError";
}

const FAILURE_TAIL_LINES = 40;

/** Runs one install step with status lines; throws InstallStepError if its command fails. */
export async function runWithProgress(options: StepOptions): Promise<void> {
  const print = options.print ?? ((line: string) => console.log(line));
  const everyMs = options.everyMs ?? 3_000;
  const quietMs = options.quietMs ?? 15_000;
  const started = performance.now();
  const seconds = () => `${Math.round((performance.now() - started) / 1000)} s`;
  print(`install: ${options.label}: starting`);

  const proc = Bun.spawn(options.argv, {
    cwd: options.cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...options.env },
  });
  const output: string[] = [];
  let moved = false;
  let lastPrinted = performance.now();
  const onLine = (text: string) => {
    output.push(text);
    if (output.length > 2 * FAILURE_TAIL_LINES) output.splice(0, output.length - FAILURE_TAIL_LINES);
    if (options.tracker.line(text)) moved = true;
  };
  const ticker = setInterval(() => {
    const since = performance.now() - lastPrinted;
    if ((moved && since >= everyMs) || since >= quietMs) {
      print(`install: ${options.label}: ${options.tracker.status()}${moved ? "" : ", still working"} [${seconds()}]`);
      lastPrinted = performance.now();
      moved = false;
    }
  }, Math.min(everyMs, 1_000));
  try {
    const [, , code] = await Promise.all([readLines(proc.stdout, onLine), readLines(proc.stderr, onLine), proc.exited]);
    if (code !== 0) {
      process.stderr.write(output.slice(-FAILURE_TAIL_LINES).join("\n") + "\n");
      throw new InstallStepError(`install: ${options.label}: \`${options.argv.join(" ")}\` exited with code ${code}`);
    }
    print(`install: ${options.label}: done in ${seconds()}, ${options.tracker.status()}`);
  } finally {
    clearInterval(ticker);
  }
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const bytes of stream) {
    pending += decoder.decode(bytes, { stream: true });
    // \r too: progress bars (apt, some Maven transports) redraw one line.
    const lines = pending.split(/\r?\n|\r/);
    pending = lines.pop() ?? "";
    for (const text of lines) onLine(text);
  }
  if (pending) onLine(pending);
}

const lastPathPart = (url: string): string => url.slice(url.lastIndexOf("/") + 1);

/** Maven in batch mode (-B, not -q): counts "Downloaded from ..." lines and their sizes. */
export function mavenDownloads(): ProgressTracker {
  let files = 0;
  let bytes = 0;
  let last = "";
  const units: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };
  return {
    line(text) {
      const match = /Downloaded from \S+: (\S+) \(([\d.]+) (B|kB|KB|MB|GB)/.exec(text);
      if (!match) return false;
      files++;
      bytes += Number(match[2]) * (units[match[3]!] ?? 1);
      last = lastPathPart(match[1]!);
      return true;
    },
    status: () =>
      files === 0 ? "nothing fetched yet (all in the local Maven repository?)" : `${files} files fetched (${(bytes / 1e6).toFixed(1)} MB), last ${last}`,
  };
}

/** `go mod download -x`: counts module archives fetched, out of `expected` (from go.sum). */
export function goModuleDownloads(expected: number): ProgressTracker {
  let fetched = 0;
  let last = "";
  return {
    line(text) {
      const match = /^# get (\S+)\/@v\/([^/]+)\.zip: 200 OK/.exec(text);
      if (!match) return false;
      fetched++;
      last = `${modulePath(match[1]!)}@${match[2]}`;
      return true;
    },
    status: () =>
      fetched === 0
        ? "no module fetched (all in the module cache?)"
        : `${fetched} of at most ${expected} modules fetched, last ${last}`,
  };
}

/** The module path in a proxy URL; proxies escape capitals as "!x" (github.com/!ferret!d!b). */
function modulePath(url: string): string {
  const path = decodeURIComponent(url.replace(/^[a-z]+:\/\/[^/]+\//, ""));
  return path.replace(/!([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** `go build -v`: counts packages compiled, out of `expected` (from `go list -deps`). */
export function goPackagesBuilt(expected: number): ProgressTracker {
  let built = 0;
  let last = "";
  return {
    line(text) {
      // -v prints one import path a line; anything with a space is a message.
      if (!text || text.includes(" ")) return false;
      built++;
      last = text;
      return true;
    },
    // Packages already in the build cache are not compiled again, so a warm build ends early.
    status: () => `${built} of at most ${expected} packages compiled${last ? `, last ${last}` : ""}`,
  };
}

/** apt-get with `-o APT::Status-Fd=1`: its own percentages for download and install. */
export function aptStatus(): ProgressTracker {
  let status = "waiting for apt";
  return {
    line(text) {
      const match = /^(dlstatus|pmstatus):([^:]*):([\d.]+):(.*)$/.exec(text);
      if (!match) return false;
      const phase = match[1] === "dlstatus" ? "downloading" : "installing";
      status = `${phase} ${Math.round(Number(match[3]))}%: ${match[4]}`;
      return true;
    },
    status: () => status,
  };
}

/** `apt-get update`: counts the package lists fetched ("Get:N ..." lines). */
export function aptListsFetched(): ProgressTracker {
  let fetched = 0;
  return {
    line(text) {
      if (!/^Get:\d+ /.test(text)) return false;
      fetched++;
      return true;
    },
    status: () => `${fetched} package list(s) fetched`,
  };
}
