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

/** Runs a build step; its output is shown only if it fails (mvn -q still prints stray ANSI codes). */
async function run(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<void> {
  const proc = Bun.spawn(argv, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) {
    process.stderr.write(out + err);
    throw new Error(`install: \`${argv.join(" ")}\` exited with code ${code}`);
  }
}

async function installKafka(): Promise<void> {
  const tmp = `${KAFKA_LIBS}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  console.log(`install: fetching Kafka jars (stack/pom.xml) into ${relative(ROOT, KAFKA_LIBS)} with Maven`);
  await run(["mvn", "-q", "-B", "-f", POM, "dependency:copy-dependencies", `-DoutputDirectory=${tmp}`], ROOT);
  rmSync(KAFKA_LIBS, { recursive: true, force: true });
  renameSync(tmp, KAFKA_LIBS);
  writeFileSync(stampOf(KAFKA_LIBS), `${digest([POM])}\n`);
}

async function installFerretdb(): Promise<void> {
  const tmp = `${FERRETDB_BIN}.tmp`;
  mkdirSync(dirname(FERRETDB_BIN), { recursive: true });
  console.log(`install: building FerretDB (stack/ferretdb) into ${relative(ROOT, FERRETDB_BIN)} with Go`);
  // go.mod/go.sum pin every module, so no version list is needed from the proxy;
  // -buildvcs=false because the wrapper module's VCS state is irrelevant.
  await run(["go", "build", "-o", tmp, "."], FERRETDB_SRC, { GOFLAGS: `${process.env.GOFLAGS ?? ""} -buildvcs=false`.trim() });
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
  console.log(`install: Debian packages ${packages.join(", ")} with apt-get`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const apt = [...sudo, "apt-get", "install", "-y", "--no-install-recommends", ...packages];
  try {
    await run(apt, ROOT, env);
  } catch {
    // A fresh machine's package lists may be empty or stale.
    await run([...sudo, "apt-get", "update"], ROOT, env);
    await run(apt, ROOT, env);
  }
}

async function installRegistry(): Promise<void> {
  const tmp = `${REGISTRY_APP}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  console.log(`install: building Apicurio Registry (stack/registry) into ${relative(ROOT, REGISTRY_APP)} with Maven`);
  // -DskipDefault: the Apicurio parent's default profile adds repositories these machines cannot reach.
  await run(
    ["mvn", "-q", "-B", "-f", REGISTRY_INPUTS[0]!, "-DskipDefault", "-DskipTests", `-Dregistry.build.dir=${tmp}`, "package"],
    ROOT,
  );
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
