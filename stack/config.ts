/**
 * Paths, ports and the Server shape shared by the stack.ts modules.
 */
import { join, resolve } from "node:path";
import { UsageError } from "../lib/errors.ts";

export const ROOT = resolve(import.meta.dir, "..");
export const STACK_DIR = join(ROOT, ".stack");
export const KAFKA_LIBS = join(STACK_DIR, "kafka", "libs");
export const FERRETDB_BIN = join(STACK_DIR, "bin", "ferretdb");
/** The Apicurio Registry app built from stack/registry/pom.xml. */
export const REGISTRY_APP = join(STACK_DIR, "schema-registry-app");

/** Seconds a server gets to answer a real request after start. */
export const START_TIMEOUT_MS = 90_000;
/** How long install/up/down wait for another stack.ts run; a cold install takes minutes. */
export const LOCK_TIMEOUT_MS = 600_000;
/** Grace between SIGTERM and SIGKILL on `down`; Kafka flushes and closes its logs. */
export const STOP_GRACE_MS = 20_000;

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`${name}=${raw} is not a TCP port`);
  return port;
}

export interface Ports {
  localKafka: number;
  localController: number;
  remoteKafka: number;
  remoteSasl: number;
  remoteTls: number;
  remoteMtls: number;
  remoteController: number;
  mongo: number;
  mongoTls: number;
  prometheus: number;
  alertmanager: number;
  postgres: number;
  schemaRegistry: number;
}

export function ports(): Ports {
  return {
    localKafka: envPort("STACK_LOCAL_KAFKA_PORT", 9092),
    localController: envPort("STACK_LOCAL_CONTROLLER_PORT", 19093),
    remoteKafka: envPort("STACK_REMOTE_KAFKA_PORT", 9192),
    remoteSasl: envPort("STACK_REMOTE_SASL_PORT", 9193),
    remoteTls: envPort("STACK_REMOTE_TLS_PORT", 9194),
    remoteMtls: envPort("STACK_REMOTE_MTLS_PORT", 9195),
    remoteController: envPort("STACK_REMOTE_CONTROLLER_PORT", 19194),
    mongo: envPort("STACK_MONGO_PORT", 27017),
    mongoTls: envPort("STACK_MONGO_TLS_PORT", 27018),
    prometheus: envPort("STACK_PROMETHEUS_PORT", 9090),
    alertmanager: envPort("STACK_ALERTMANAGER_PORT", 9093),
    postgres: envPort("STACK_POSTGRES_PORT", 5432),
    schemaRegistry: envPort("STACK_SCHEMA_REGISTRY_PORT", 8081),
  };
}

/** One server of the stack, as up/down/status see it. */
export interface Server {
  name: string;
  /** .stack/<name>: config, data, log and pid file. */
  dir: string;
  logFile: string;
  pidFile: string;
  /** Every port the server binds; all must be free before a start. */
  ports: number[];
  /** Appears in the process command line; tells our process from a reused pid. */
  marker: string;
  /** What `down` sends first (SIGTERM unless the server needs another to stop promptly). */
  stopSignal?: NodeJS.Signals;
  /** Writes config files and formats storage if needed. */
  prepare(): Promise<void>;
  command(): string[];
  /** Resolves if the server answers a real request, rejects otherwise. */
  probe(): Promise<void>;
  /** Run once after a start by `up`, when the server answers: setup that needs it running. */
  afterStart?(): Promise<void>;
}
