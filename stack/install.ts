/**
 * `install`: Kafka jars from Maven Central, the FerretDB binary and the
 * Apicurio Registry app (stack/registry/pom.xml), into .stack/, and Debian's
 * Prometheus and Alertmanager packages when they are missing.
 *
 * Each artifact carries a stamp (sha256 of the files it was made from), so a
 * changed stack/pom.xml or stack/ferretdb/go.mod triggers a rebuild while an
 * unchanged one costs nothing. Results are built beside the target and renamed
 * into place, so an interrupted install never looks complete.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { FERRETDB_BIN, KAFKA_LIBS, REGISTRY_APP, ROOT } from "./config.ts";
import { ALERTMANAGER_BIN, PROMETHEUS_BIN, PROMTOOL_BIN } from "./prometheus.ts";
import { postgresBinDir } from "./postgres.ts";
import { aptListsFetched, aptStatus, goModuleDownloads, goPackagesBuilt, mavenDownloads, runWithProgress } from "./progress.ts";

const POM = join(ROOT, "stack", "pom.xml");
const FERRETDB_SRC = join(ROOT, "stack", "ferretdb");
const FERRETDB_INPUTS = ["go.mod", "go.sum", "main.go"].map((f) => join(FERRETDB_SRC, f));
const REGISTRY_INPUTS = ["pom.xml", "src/main/java/toolkit/registry/DynamicConfigProperties.java"].map((f) =>
  join(ROOT, "stack", "registry", f),
);

function digest(files: string[]): string {
  const hash = createHash("sha256");
  for (const f of files) hash.update(readFileSync(f));
  return hash.digest("hex");
}

const stampOf = (target: string): string => `${target}.sha256`;

function isCurrent(target: string, sources: string[]): boolean {
  const stamp = stampOf(target);
  return existsSync(target) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === digest(sources);
}

async function installKafka(): Promise<void> {
  const tmp = `${KAFKA_LIBS}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  await runWithProgress({
    label: `Kafka jars (Maven, stack/pom.xml) into ${relative(ROOT, KAFKA_LIBS)}`,
    // -B without -q: one "Downloaded from" line per file, which the tracker counts.
    argv: ["mvn", "-B", "-f", POM, "dependency:copy-dependencies", `-DoutputDirectory=${tmp}`],
    cwd: ROOT,
    tracker: mavenDownloads(),
  });
  rmSync(KAFKA_LIBS, { recursive: true, force: true });
  renameSync(tmp, KAFKA_LIBS);
  writeFileSync(stampOf(KAFKA_LIBS), `${digest([POM])}\n`);
}

/** Module archives go.sum pins: what a cold module cache has to fetch, at most. */
function pinnedModules(): number {
  const lines = readFileSync(join(FERRETDB_SRC, "go.sum"), "utf8").split("\n");
  return lines.filter((l) => l.trim() && !l.includes("/go.mod ")).length;
}

/** Packages the build compiles on a cold build cache. */
async function packagesToBuild(env: Record<string, string>): Promise<number> {
  const proc = Bun.spawn(["go", "list", "-deps", "."], { cwd: FERRETDB_SRC, stdout: "pipe", stderr: "ignore", env: { ...process.env, ...env } });
  const text = await new Response(proc.stdout).text();
  await proc.exited;
  return text.split("\n").filter(Boolean).length;
}

async function installFerretdb(): Promise<void> {
  const tmp = `${FERRETDB_BIN}.tmp`;
  mkdirSync(dirname(FERRETDB_BIN), { recursive: true });
  // go.mod/go.sum pin every module, so no version list is needed from the proxy;
  // -buildvcs=false because the wrapper module's VCS state is irrelevant.
  const env = { GOFLAGS: `${process.env.GOFLAGS ?? ""} -buildvcs=false`.trim() };
  await runWithProgress({
    label: "FerretDB modules (Go proxy, stack/ferretdb/go.sum)",
    argv: ["go", "mod", "download", "-x"],
    cwd: FERRETDB_SRC,
    env,
    tracker: goModuleDownloads(pinnedModules()),
  });
  await runWithProgress({
    label: `FerretDB build (Go) into ${relative(ROOT, FERRETDB_BIN)}`,
    argv: ["go", "build", "-v", "-o", tmp, "."],
    cwd: FERRETDB_SRC,
    env,
    tracker: goPackagesBuilt(await packagesToBuild(env)),
  });
  renameSync(tmp, FERRETDB_BIN);
  writeFileSync(stampOf(FERRETDB_BIN), `${digest(FERRETDB_INPUTS)}\n`);
}

const commandsFound = (commands: string[]) => () => commands.every((c) => Bun.which(c) !== null);

/** Debian package → whether what the stack and tests run from it is there. */
const DEBIAN_PACKAGES: Record<string, () => boolean> = {
  prometheus: commandsFound([PROMETHEUS_BIN, PROMTOOL_BIN]),
  "prometheus-alertmanager": commandsFound([ALERTMANAGER_BIN]),
  // The server binaries live off the PATH, in /usr/lib/postgresql/<version>/bin.
  postgresql: () => postgresBinDir() !== undefined,
  // The real Compose parser the tests check docker-compose.yml with (`docker-compose config`).
  "docker-compose": commandsFound(["docker-compose"]),
};

function missingPackages(): string[] {
  return Object.entries(DEBIAN_PACKAGES)
    .filter(([, installed]) => !installed())
    .map(([name]) => name);
}

/** apt-get as root, or through sudo; the packages' services are not started (no systemd here, policy elsewhere). */
async function installDebianPackages(packages: string[]): Promise<void> {
  if (Bun.which("apt-get") === null) {
    throw new Error(`install: ${packages.join(", ")} missing and no apt-get here; install them by hand (Prometheus and Alertmanager on PATH)`);
  }
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  // Status-Fd: apt's own percentages, which the tracker shows.
  const apt = [...sudo, "apt-get", "install", "-y", "--no-install-recommends", "-o", "APT::Status-Fd=1", ...packages];
  const label = `Debian packages ${packages.join(", ")} (apt-get)`;
  try {
    await runWithProgress({ label, argv: apt, cwd: ROOT, env, tracker: aptStatus() });
  } catch {
    // A fresh machine's package lists may be empty or stale.
    const update = [...sudo, "apt-get", "update"];
    await runWithProgress({ label: "Debian package lists (apt-get update)", argv: update, cwd: ROOT, env, tracker: aptListsFetched() });
    await runWithProgress({ label, argv: apt, cwd: ROOT, env, tracker: aptStatus() });
  }
}

async function installRegistry(): Promise<void> {
  const tmp = `${REGISTRY_APP}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  // -DskipDefault: the Apicurio parent's default profile adds repositories these machines cannot reach.
  await runWithProgress({
    label: `Apicurio Registry (Maven, stack/registry) into ${relative(ROOT, REGISTRY_APP)}`,
    argv: ["mvn", "-B", "-f", REGISTRY_INPUTS[0]!, "-DskipDefault", "-DskipTests", `-Dregistry.build.dir=${tmp}`, "package"],
    cwd: ROOT,
    tracker: mavenDownloads(),
  });
  rmSync(REGISTRY_APP, { recursive: true, force: true });
  renameSync(tmp, REGISTRY_APP);
  writeFileSync(stampOf(REGISTRY_APP), `${digest(REGISTRY_INPUTS)}\n`);
}

/** True if install has work to do. */
export function installNeeded(): boolean {
  return (
    !isCurrent(KAFKA_LIBS, [POM]) ||
    !isCurrent(FERRETDB_BIN, FERRETDB_INPUTS) ||
    !isCurrent(REGISTRY_APP, REGISTRY_INPUTS) ||
    missingPackages().length > 0
  );
}

export async function install(): Promise<void> {
  if (isCurrent(KAFKA_LIBS, [POM])) console.log(`install: Kafka jars up to date (${relative(ROOT, KAFKA_LIBS)})`);
  else await installKafka();
  if (isCurrent(FERRETDB_BIN, FERRETDB_INPUTS)) console.log(`install: FerretDB up to date (${relative(ROOT, FERRETDB_BIN)})`);
  else await installFerretdb();
  const missing = missingPackages();
  if (missing.length === 0) console.log("install: Debian packages installed (prometheus, prometheus-alertmanager, postgresql)");
  else await installDebianPackages(missing);
  if (isCurrent(REGISTRY_APP, REGISTRY_INPUTS)) console.log(`install: Schema Registry up to date (${relative(ROOT, REGISTRY_APP)})`);
  else await installRegistry();
}
