/**
 * A MongoDB driver client built from a validated database.ini section. Works
 * against MongoDB and FerretDB alike: nothing here needs a replica set.
 *
 * @example
 * const client = createMongoClient(mongoSection(source, "mongodb"), { timeoutMs: 5000 });
 * await client.connect();
 * await client.db("admin").command({ ping: 1 });
 */
import { MongoClient, type MongoClientOptions } from "mongodb";
import type { MongoSection } from "../config/mongo-section.ts";

export interface MongoClientFactoryOptions {
  /** Server selection and connect timeout; how long an outage blocks a call. */
  timeoutMs?: number;
  appName?: string;
  /** Longest wait for any answer on an open connection; default 120 s. */
  socketTimeoutMs?: number;
}

export function createMongoClient(section: MongoSection, options: MongoClientFactoryOptions = {}): MongoClient {
  const timeout = options.timeoutMs ?? 10_000;
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
    ...(section.auth
      ? {
          auth: { username: section.auth.username, password: section.auth.password },
          ...(section.auth.authSource ? { authSource: section.auth.authSource } : {}),
        }
      : {}),
  };
  return new MongoClient(section.uri, clientOptions);
}

/** Where a section points, for logs; never the password. */
export function describeMongo(section: MongoSection): string {
  return `[${section.name}] ${section.uri}${section.auth ? ` user=${section.auth.username}` : ""}`;
}
