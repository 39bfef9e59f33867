/**
 * A MongoDB driver client built from a validated database.ini section. Works
 * against MongoDB and FerretDB alike: nothing here needs a replica set.
 *
 * @example
 * const client = createMongoClient(mongoSection(source, "mongodb"), { timeoutMs: 5000 });
 * await client.connect();
 * await client.db("admin").command({ ping: 1 });
 */
import { readFileSync } from "node:fs";
import { MongoClient, type MongoClientOptions, type ServerHeartbeatFailedEvent } from "mongodb";
import type { MongoSection } from "../config/mongo-section.ts";
import { redactUri } from "../config/redact.ts";
import { ConfigError } from "../errors.ts";
import { clientKeyProblem, TlsConfigError, tlsProblem } from "../tls-errors.ts";

export interface MongoClientFactoryOptions {
  /** Server selection and connect timeout; how long an outage blocks a call. */
  timeoutMs?: number;
  appName?: string;
  /** Longest wait for any answer on an open connection; default 120 s. */
  socketTimeoutMs?: number;
}

export function createMongoClient(section: MongoSection, options: MongoClientFactoryOptions = {}): MongoClient {
  const timeout = options.timeoutMs ?? 10_000;
  if (section.tlsCertificateKeyFile) {
    const bundle = readFileSync(section.tlsCertificateKeyFile, "utf8");
    const problem = clientKeyProblem({ cert: bundle, key: bundle, passphrase: section.tlsCertificateKeyFilePassword });
    if (problem) {
      throw new ConfigError(
        `[${section.name}] tls_certificate_key_file: needs the client certificate and its key (${problem}); an encrypted key needs tls_certificate_key_file_password`,
      );
    }
  }
  const clientOptions: MongoClientOptions = {
    appName: options.appName ?? "kafka-toolkit",
    serverSelectionTimeoutMS: timeout,
    connectTimeoutMS: timeout,
    // Without it a write to a server that vanished without closing the
    // connection (host down, network cut) waits forever; as a network error
    // it is retried like any outage, and _ids fixed up front keep that safe.
    socketTimeoutMS: options.socketTimeoutMs ?? 120_000,
    tls: section.tls || undefined,
    tlsCAFile: section.tlsCaFile,
    tlsCertificateKeyFile: section.tlsCertificateKeyFile,
    tlsCertificateKeyFilePassword: section.tlsCertificateKeyFilePassword,
    ...(section.auth
      ? {
          auth: { username: section.auth.username, password: section.auth.password },
          ...(section.auth.authSource ? { authSource: section.auth.authSource } : {}),
        }
      : {}),
  };
  return new FailFastMongoClient(section.uri, clientOptions);
}

const MONGO_TLS_KEYS = { ca: "tls_ca_file", cert: "tls_certificate_key_file" };

/**
 * A client whose connect() fails as soon as the server monitor meets a TLS
 * failure that no retry can fix (see tls-errors.ts), with a line naming the
 * section and the key to fix, instead of retrying until the server
 * selection timeout.
 */
class FailFastMongoClient extends MongoClient {
  private permanent?: TlsConfigError;
  private onPermanent?: (error: TlsConfigError) => void;

  constructor(uri: string, options: MongoClientOptions) {
    super(uri, options);
    this.on("serverHeartbeatFailed", (event: ServerHeartbeatFailedEvent) => {
      const problem = tlsProblem(event.failure, MONGO_TLS_KEYS);
      if (!problem) return;
      // Callers name the section with describeMongo(); the server is what they do not know.
      this.permanent ??= new TlsConfigError(`${event.connectionId}: ${problem}`);
      this.onPermanent?.(this.permanent);
    });
  }

  override async connect(): Promise<this> {
    if (this.permanent) throw this.permanent;
    const failed = new Promise<never>((_, reject) => {
      this.onPermanent = reject;
    });
    try {
      return await Promise.race([super.connect(), failed]);
    } finally {
      this.onPermanent = undefined;
    }
  }
}

/** Where a section points, for logs; never the password. */
export function describeMongo(section: MongoSection): string {
  const tls = section.tls ? ` tls${section.tlsCertificateKeyFile ? "+client-cert" : ""}` : "";
  return `[${section.name}] ${redactUri(section.uri)}${tls}${section.auth ? ` user=${section.auth.username}` : ""}`;
}
