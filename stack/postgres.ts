/**
 * PostgreSQL from Debian's `postgresql` package (install.ts installs it when
 * missing), run as a user process:
 * initdb into .stack/postgres/data on first start, then the postmaster on
 * 127.0.0.1 only. As root (this project's machines) the server runs as the
 * unprivileged `postgres` user the package creates, because PostgreSQL
 * refuses to run as root.
 *
 * Database `toolkit`, user `toolkit`, password `toolkit-secret` (the
 * [postgres] section of config/local-stack.ini).
 *
 * @example
 * const server = postgresServer(5432);
 * await server.prepare();           // initdb once (install.ts installs the package)
 * startDetached(server.command(), ...);
 * await server.probe();             // SELECT 1 as user toolkit
 */
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { STACK_DIR, type Server } from "./config.ts";
import { runLogged } from "./proc.ts";

export const POSTGRES_USER = "toolkit";
export const POSTGRES_PASSWORD = "toolkit-secret";
export const POSTGRES_DATABASE = "toolkit";
const RUN_AS = "postgres";

/** The newest PostgreSQL bin directory Debian's packages installed, if any. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "postgres")) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** argv run as the unprivileged user when we are root; setpriv execs, so the pid stays the server's. */
function asServerUser(argv: string[]): string[] {
  return isRoot() ? ["setpriv", `--reuid=${RUN_AS}`, `--regid=${RUN_AS}`, "--init-groups", "--", ...argv] : argv;
}

/** Answers a real query as the stack's user. */
export async function queryPostgres(port: number): Promise<void> {
  const sql = postgres({
    host: "127.0.0.1",
    port,
    user: POSTGRES_USER,
    password: POSTGRES_PASSWORD,
    database: POSTGRES_DATABASE,
    connect_timeout: 2,
    max: 1,
    onnotice: () => {},
  });
  try {
    await sql`SELECT 1`;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

export function postgresServer(port: number): Server {
  const dir = join(STACK_DIR, "postgres");
  const dataDir = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  const bin = (name: string): string => join(postgresBinDir() ?? "/usr/lib/postgresql/missing/bin", name);
  return {
    name: "postgres",
    dir,
    logFile,
    pidFile: join(dir, "postgres.pid"),
    ports: [port],
    marker: `-D ${dataDir} `,
    // SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client to
    // disconnect; SIGINT ("fast") rolls back open transactions and stops now.
    stopSignal: "SIGINT",
    async prepare() {
      if (postgresBinDir() === undefined) throw new Error("PostgreSQL is not installed (`bun stack/stack.ts install` installs Debian's postgresql)");
      mkdirSync(dir, { recursive: true });
      if (existsSync(join(dataDir, "PG_VERSION"))) return;
      await initialise(dir, dataDir, logFile, bin);
    },
    command: () =>
      asServerUser([
        bin("postgres"),
        "-D",
        dataDir,
        "-p",
        String(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        `unix_socket_directories=${dir}`,
      ]),
    probe: () => queryPostgres(port),
  };
}

/** initdb with password authentication, then CREATE DATABASE in single-user mode (no server needed). */
async function initialise(dir: string, dataDir: string, logFile: string, bin: (name: string) => string): Promise<void> {
  const pwFile = join(dir, "initdb.pw");
  writeFileSync(pwFile, `${POSTGRES_PASSWORD}\n`, { mode: 0o600 });
  if (isRoot()) {
    const { uid, gid } = userIds(RUN_AS);
    chownSync(dir, uid, gid);
    chownSync(pwFile, uid, gid);
  }
  const opts = { cwd: dir, logFile };
  await runLogged(
    asServerUser([
      bin("initdb"),
      "-D",
      dataDir,
      `--username=${POSTGRES_USER}`,
      `--pwfile=${pwFile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      "--locale=C",
    ]),
    opts,
  );
  await runLogged(asServerUser(["sh", "-c", `echo 'CREATE DATABASE ${POSTGRES_DATABASE}' | "${bin("postgres")}" --single -D "${dataDir}" postgres`]), opts);
}

function userIds(name: string): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`user ${name} does not exist (the postgresql package creates it)`);
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}
