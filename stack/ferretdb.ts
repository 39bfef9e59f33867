/**
 * FerretDB (MongoDB wire protocol) on its embedded SQLite backend, listening
 * in plain TCP and in TLS requiring a client certificate (tls.ts).
 * The binary is built from stack/ferretdb by install.ts.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { MongoClient, type MongoClientOptions } from "mongodb";
import { FERRETDB_BIN, STACK_DIR, type Server } from "./config.ts";
import { TLS } from "./tls.ts";

/** A `ping` through the real driver: proves the wire protocol and the backend answer. */
export async function pingMongo(port: number, tls: MongoClientOptions = {}): Promise<void> {
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/`, {
    directConnection: true,
    serverSelectionTimeoutMS: 1000,
    connectTimeoutMS: 1000,
    ...tls,
  });
  try {
    await client.connect();
    await client.db("admin").command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}

export function ferretdbServer(port: number, tlsPort: number): Server {
  const dir = join(STACK_DIR, "ferretdb");
  const dataDir = join(dir, "data");
  return {
    name: "ferretdb",
    dir,
    logFile: join(dir, "ferretdb.log"),
    pidFile: join(dir, "ferretdb.pid"),
    ports: [port, tlsPort],
    // The flag with this checkout's data dir is unique to our process, unlike the binary name.
    marker: `--sqlite-url=file:${dataDir}/`,
    async prepare() {
      mkdirSync(dataDir, { recursive: true });
    },
    // Telemetry is off by construction in stack/ferretdb/main.go (embedded FerretDB).
    // warn: info logs two lines per client connection.
    command: () => [
      FERRETDB_BIN,
      `--listen-addr=127.0.0.1:${port}`,
      `--listen-tls=127.0.0.1:${tlsPort}`,
      `--tls-cert-file=${TLS.serverCert}`,
      `--tls-key-file=${TLS.serverKey}`,
      `--tls-ca-file=${TLS.ca}`,
      `--sqlite-url=file:${dataDir}/`,
      "--log-level=warn",
    ],
    async probe() {
      await pingMongo(port);
      await pingMongo(tlsPort, { tls: true, tlsCAFile: TLS.ca, tlsCertificateKeyFile: TLS.clientBundle }).catch((error: unknown) => {
        throw new Error(`TLS listener on ${tlsPort}: ${error instanceof Error ? error.message : String(error)}`);
      });
    },
  };
}
