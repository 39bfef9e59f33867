/**
 * Local server stack for the toolkit: two Kafka brokers, FerretDB and a Schema
 * Registry, no Docker.
 *
 * Usage: bun stack/stack.ts <command>
 *   install        fetch Kafka jars (Maven, stack/pom.xml), build FerretDB (Go, stack/ferretdb)
 *                  and the Schema Registry (Maven, stack/registry/pom.xml)
 *   up             install if needed, start what is not running, wait until every server answers
 *   down [--clean] stop every server of the stack; --clean also deletes their data and logs
 *   status         one line per server: running/stopped, pid, port, answering
 *
 * Servers (all on 127.0.0.1; state, logs and pid files under .stack/<server>/):
 *   local-kafka   Kafka 3.9 KRaft, PLAINTEXT 9092, controller 19093
 *   remote-kafka  Kafka 3.9 KRaft, PLAINTEXT 9192, SASL_PLAINTEXT 9193 and SASL_SSL 9194
 *                 (SCRAM-SHA-512 and SCRAM-SHA-256, user replicator / replicator-secret),
 *                 SSL with a required client certificate 9195, controller 19194
 *   ferretdb      FerretDB (MongoDB protocol) on SQLite, 27017, and TLS with a required
 *                 client certificate on 27018
 *   TLS           a CA, a server certificate (IP 127.0.0.1) and a client certificate,
 *                 made with openssl at the first `up` under .stack/tls/ (stack/tls.ts)
 *   prometheus    Prometheus (Debian package), 9090: config/monitoring/alerts.yml, targets
 *                 from .stack/prometheus/targets/*.json
 *   alertmanager  Alertmanager (Debian package), 9093: config/monitoring/alertmanager.yml
 *   postgres      PostgreSQL from Debian's package (apt-get install -y when missing),
 *                 5432, database/user toolkit, password toolkit-secret
 *   schema-registry  Apicurio Registry 2.4 (H2 file storage), Confluent-compatible
 *                 API at http://127.0.0.1:8081/apis/ccompat/v7
 *
 * Ports can be moved with STACK_LOCAL_KAFKA_PORT, STACK_LOCAL_CONTROLLER_PORT,
 * STACK_REMOTE_KAFKA_PORT, STACK_REMOTE_SASL_PORT, STACK_REMOTE_TLS_PORT,
 * STACK_REMOTE_MTLS_PORT, STACK_REMOTE_CONTROLLER_PORT, STACK_MONGO_PORT, STACK_MONGO_TLS_PORT, STACK_PROMETHEUS_PORT, STACK_ALERTMANAGER_PORT,
 * STACK_POSTGRES_PORT and STACK_SCHEMA_REGISTRY_PORT; pass the same values to `down` and `status`.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error.
 * Needs java (17+), mvn, go and openssl on PATH; Prometheus and Alertmanager come from
 * Debian packages, installed with apt-get when missing (as root, or via sudo).
 * docker-compose.yml is the Docker alternative.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { LOCK_TIMEOUT_MS, ROOT, START_TIMEOUT_MS, STACK_DIR, STOP_GRACE_MS, ports, type Server } from "./config.ts";
import { UsageError } from "../lib/errors.ts";
import { ferretdbServer } from "./ferretdb.ts";
import { postgresServer } from "./postgres.ts";
import { install, installNeeded } from "./install.ts";
import { kafkaServer } from "./kafka.ts";
import { alertmanagerServer, prometheusServer } from "./prometheus.ts";
import { schemaRegistryServer } from "./registry.ts";
import { ensureTlsMaterial } from "./tls.ts";
import { sleep } from "../lib/backoff.ts";
import { findByMarker, isAlive, isRunning, otherCheckoutServers, portInUse, readPid, removePid, startDetached, stopProcess, tail, withLock, writePid } from "./proc.ts";

/** How often `up` says which server it is still waiting for. */
const WAIT_NOTICE_MS = 5_000;

const USAGE = "usage: bun stack/stack.ts install | up | down [--clean] | status";

function servers(): Server[] {
  const p = ports();
  return [
    kafkaServer({ name: "local-kafka", port: p.localKafka, controllerPort: p.localController }),
    kafkaServer({
      name: "remote-kafka",
      port: p.remoteKafka,
      controllerPort: p.remoteController,
      secure: { sasl: p.remoteSasl, saslSsl: p.remoteTls, mtls: p.remoteMtls },
    }),
    ferretdbServer(p.mongo, p.mongoTls),
    prometheusServer(p.prometheus, p.alertmanager),
    alertmanagerServer(p.alertmanager),
    postgresServer(p.postgres),
    schemaRegistryServer(p.schemaRegistry),
  ];
}

/** Failure of one server, reported as one line plus the tail of its log. */
class ServerError extends Error {
  constructor(
    readonly server: Server,
    message: string,
    readonly logRelevant = true,
  ) {
    super(logRelevant ? `stack: ${server.name} ${message}; log: ${relative(process.cwd(), server.logFile)}` : `stack: ${server.name} ${message}`);
  }
}

const answers = (s: Server): Promise<boolean> => s.probe().then(() => true, () => false);

/** Why the probe fails now, for a message; undefined if it passes. */
const probeFailure = (s: Server): Promise<string | undefined> =>
  s.probe().then(() => undefined, (error: unknown) => (error instanceof Error ? error.message : String(error)));

/**
 * The live process of s: from its pid file, or else found by its marker (the
 * pid file was deleted or lost), in which case the pid file is written again.
 */
function livePid(s: Server): number | undefined {
  const pid = readPid(s.pidFile);
  if (pid !== undefined && isAlive(pid, s.marker)) return pid;
  const found = findByMarker(s.marker)[0];
  if (found !== undefined) writePid(s.pidFile, found);
  return found;
}

/** Polls the probe until it succeeds; `started` is true when this run started pid itself. */
async function waitUntilAnswering(s: Server, pid: number, started: boolean): Promise<void> {
  const waitStarted = Date.now();
  const deadline = waitStarted + START_TIMEOUT_MS;
  let nextNotice = waitStarted + WAIT_NOTICE_MS;
  while (Date.now() < deadline) {
    if (await answers(s)) return;
    if (Date.now() >= nextNotice) {
      const waited = Math.round((Date.now() - waitStarted) / 1000);
      console.log(`stack: waiting for ${s.name} (pid ${pid}) to answer on port ${s.ports[0]}: ${waited} s of at most ${START_TIMEOUT_MS / 1000} s`);
      nextNotice += WAIT_NOTICE_MS;
    }
    // A crash (bad config, port taken) should fail now, not after the timeout.
    if (started ? !isRunning(pid) : !isAlive(pid, s.marker)) {
      removePid(s.pidFile);
      throw new ServerError(s, `exited during startup (pid ${pid})`);
    }
    await sleep(500);
  }
  if (!started) {
    // Not ours to kill: it may be serving other STACK_* ports than this run asked for,
    // or be an older configuration (without a listener added since).
    const why = (await probeFailure(s)) ?? "no answer in time";
    throw new ServerError(s, `is running (pid ${pid}) but does not answer as configured (${why}); \`down\` and \`up\` restart it`);
  }
  await stopProcess(pid, s.marker, STOP_GRACE_MS, s.stopSignal);
  removePid(s.pidFile);
  throw new ServerError(s, `did not answer within ${START_TIMEOUT_MS / 1000} s (stopped it)`);
}

function portHolderHint(): string {
  const others = [...otherCheckoutServers(STACK_DIR)].map(([root, pids]) => `${root} (pids ${pids.join(", ")})`);
  if (others.length === 0) return " by a process this stack did not start";
  return ` by the stack of ${others.join(" and ")}: run \`bun stack/stack.ts down\` there, or move ports with STACK_*`;
}

/** Starts s unless it already runs; resolves to seconds taken, or undefined if it was already up. */
async function ensureRunning(s: Server): Promise<number | undefined> {
  const started = performance.now();
  const pid = livePid(s);
  if (pid !== undefined) {
    if (await answers(s)) return undefined;
    // Alive but silent: most likely still starting from an interrupted `up`.
    await waitUntilAnswering(s, pid, false);
    return (performance.now() - started) / 1000;
  }
  removePid(s.pidFile);
  for (const port of s.ports) {
    if (await portInUse(port)) throw new ServerError(s, `cannot start: port ${port} is taken${portHolderHint()}`, false);
  }
  await s.prepare();
  console.log(`stack: starting ${s.name} on port ${s.ports[0]}`);
  const newPid = startDetached(s.command(), { cwd: s.dir, logFile: s.logFile });
  writePid(s.pidFile, newPid);
  await waitUntilAnswering(s, newPid, true);
  await s.afterStart?.();
  console.log(`stack: ${s.name} up (pid ${newPid}, port ${s.ports[0]}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return (performance.now() - started) / 1000;
}

async function up(): Promise<void> {
  const started = performance.now();
  const all = servers();
  if (installNeeded()) await install();
  await ensureTlsMaterial();
  // In parallel: the two JVMs dominate, and each waits on its own probe.
  const results = await Promise.allSettled(all.map(ensureRunning));
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
  if (failures.length > 0) throw new Failures(failures);
  const elapsed = ((performance.now() - started) / 1000).toFixed(1);
  if (results.every((r) => r.status === "fulfilled" && r.value === undefined)) {
    console.log(`stack: already up, nothing to do (checked in ${elapsed} s)`);
  } else {
    console.log(`stack: up in ${elapsed} s`);
  }
}

/** Several servers failed at once; each is reported. */
class Failures extends Error {
  constructor(readonly errors: unknown[]) {
    super(`${errors.length} server(s) failed`);
  }
}

function reportFailure(err: unknown): void {
  if (err instanceof Failures) {
    for (const e of err.errors) reportFailure(e);
  } else if (err instanceof ServerError) {
    console.error(err.message);
    if (err.logRelevant) console.error(`--- last 20 lines of ${err.server.logFile} ---\n${tail(err.server.logFile, 20)}\n---`);
  } else {
    console.error(`stack: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Stops s via its pid file, plus any process still carrying its marker (lost pid file). */
async function stop(s: Server): Promise<void> {
  const pids = new Set(findByMarker(s.marker));
  const fromFile = readPid(s.pidFile);
  if (fromFile !== undefined && isAlive(fromFile, s.marker)) pids.add(fromFile);
  if (pids.size === 0) console.log(`stack: ${s.name} not running`);
  for (const pid of pids) {
    const started = performance.now();
    const how = await stopProcess(pid, s.marker, STOP_GRACE_MS, s.stopSignal);
    console.log(`stack: ${s.name} stopped (pid ${pid}, ${how}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  removePid(s.pidFile);
}

async function down(clean: boolean): Promise<void> {
  const all = servers();
  await Promise.all(all.map(stop));
  if (clean) {
    // Jars and the FerretDB binary stay: they are not data, and slow to fetch.
    for (const s of all) rmSync(s.dir, { recursive: true, force: true });
    console.log(`stack: deleted data and logs of ${all.map((s) => s.name).join(", ")} under ${relative(ROOT, STACK_DIR)}/`);
  }
}

async function status(): Promise<void> {
  for (const s of servers()) {
    const pid = livePid(s);
    const answering = await answers(s);
    const state = pid === undefined ? "stopped" : "running";
    const pidText = pid === undefined ? "-" : String(pid);
    // "answering" while stopped means a foreign process holds the port.
    console.log(
      `${s.name.padEnd(15)} ${state.padEnd(8)} pid ${pidText.padEnd(8)} port ${String(s.ports[0]).padEnd(6)} ${answering ? "answering" : "not answering"}`,
    );
  }
}

/** One install/up/down at a time per checkout; a second waits for the first. */
function locked(fn: () => Promise<void>): Promise<void> {
  mkdirSync(STACK_DIR, { recursive: true });
  return withLock(join(STACK_DIR, "stack.lock"), LOCK_TIMEOUT_MS, fn);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const extra = rest.filter((a) => a !== "--clean");
  if (extra.length > 0 || (rest.length > 0 && command !== "down")) throw new UsageError(`unexpected argument: ${rest.join(" ")}`);
  switch (command) {
    case "install":
      return locked(install);
    case "up":
      return locked(up);
    case "down":
      return locked(() => down(rest.includes("--clean")));
    case "status":
      return status();
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return;
    case undefined:
      throw new UsageError("missing command");
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`stack: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  reportFailure(err);
  process.exit(1);
}
