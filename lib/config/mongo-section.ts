/**
 * A MongoDB section of database.ini, validated.
 *
 * Keys: uri (wins over host and port), host, port (27017), username,
 * password, auth_source (admin), tls, tls_ca_file (PEM of the CAs to trust),
 * tls_certificate_key_file (PEM holding the client certificate and its key,
 * as mongosh's --tlsCertificateKeyFile; each tls_* file implies tls),
 * tls_certificate_key_file_password (for an encrypted key in that file),
 * default_database, default_collection.
 *
 * @example
 * const mongo = mongoSection(loadConfigSource("database.ini"), "mongodb");
 * mongo.uri; // "mongodb://127.0.0.1:27017/"
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { booleanField, optionalText, portField } from "./fields.ts";
import { sectionValues, type ConfigSource } from "./source.ts";
import { sectionError } from "./validate.ts";

export interface MongoSection {
  name: string;
  /** Connection string without credentials; safe to print. */
  uri: string;
  auth?: { username: string; password: string; authSource?: string };
  tls: boolean;
  tlsCaFile?: string;
  /** Client certificate and key in one PEM file, for servers that require one. */
  tlsCertificateKeyFile?: string;
  /** Passphrase of an encrypted key in tlsCertificateKeyFile. */
  tlsCertificateKeyFilePassword?: string;
  defaultDatabase?: string;
  defaultCollection?: string;
}

const KEYS = [
  "uri",
  "host",
  "port",
  "username",
  "password",
  "auth_source",
  "tls",
  "tls_ca_file",
  "tls_certificate_key_file",
  "tls_certificate_key_file_password",
  "default_database",
  "default_collection",
] as const;

const schema = z.object({
  uri: optionalText.refine((u) => u === undefined || /^mongodb(\+srv)?:\/\//.test(u), {
    error: "expected a mongodb:// or mongodb+srv:// URI",
  }),
  host: optionalText,
  port: portField.default(27017),
  username: optionalText,
  password: z.string().optional(),
  auth_source: optionalText,
  tls: booleanField.optional(),
  tls_ca_file: optionalText,
  tls_certificate_key_file: optionalText,
  tls_certificate_key_file_password: z.string().optional(),
  default_database: optionalText,
  default_collection: optionalText,
});

/** Reads and validates section `name` as a MongoDB server. */
export function mongoSection(source: ConfigSource, name: string): MongoSection {
  const result = schema.safeParse(sectionValues(source, name, KEYS));
  if (!result.success) throw sectionError(source.path, name, result.error);
  const v = result.data;
  const where = `${source.path}: [${name}]`;

  if (!v.uri && !v.host) throw new ConfigError(`${where} host: is required (or set uri)`);
  if (v.username && !v.password) throw new ConfigError(`${where} password: is required with username`);
  for (const key of ["tls_ca_file", "tls_certificate_key_file"] as const) {
    const file = v[key];
    if (file && !existsSync(file)) throw new ConfigError(`${where} ${key}: no such file ${file}`);
  }
  if (v.tls_certificate_key_file_password !== undefined && !v.tls_certificate_key_file) {
    throw new ConfigError(`${where} tls_certificate_key_file_password: needs tls_certificate_key_file`);
  }
  // Credentials inside a uri would leak wherever the uri is printed, so they
  // are lifted out and passed to the driver separately.
  const fromUri = v.uri ? splitUriCredentials(v.uri) : undefined;
  const username = v.username ?? fromUri?.username;
  const password = v.password ?? fromUri?.password;

  return {
    name,
    uri: fromUri?.uri ?? `mongodb://${v.host}:${v.port}/`,
    auth: username
      ? // A uri's own authSource (or its /database) applies unless auth_source is set, as in pymongo.
        { username, password: password ?? "", authSource: v.auth_source ?? (v.uri ? undefined : "admin") }
      : undefined,
    tls: v.tls ?? (v.tls_ca_file !== undefined || v.tls_certificate_key_file !== undefined),
    tlsCaFile: v.tls_ca_file,
    tlsCertificateKeyFile: v.tls_certificate_key_file,
    tlsCertificateKeyFilePassword: v.tls_certificate_key_file_password,
    defaultDatabase: v.default_database,
    defaultCollection: v.default_collection,
  };
}

/**
 * Splits `mongodb://user:pass@hosts/db` into a credential-free uri and the
 * credentials. The user information runs to the last `@` before the query,
 * so a password with an unescaped `/` or `@` (which the driver would refuse)
 * is still lifted out whole instead of staying in the printable uri.
 */
export function splitUriCredentials(uri: string): { uri: string; username?: string; password?: string } {
  const scheme = /^mongodb(?:\+srv)?:\/\//.exec(uri)?.[0];
  if (!scheme) return { uri };
  const rest = uri.slice(scheme.length);
  const queryAt = rest.indexOf("?");
  const at = (queryAt < 0 ? rest : rest.slice(0, queryAt)).lastIndexOf("@");
  if (at < 0) return { uri };
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(":");
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  const pass = colon < 0 ? undefined : userinfo.slice(colon + 1);
  return {
    uri: `${scheme}${rest.slice(at + 1)}`,
    username: user ? decodeLenient(user) : undefined,
    password: pass !== undefined ? decodeLenient(pass) : undefined,
  };
}

/** Percent-decodes, or keeps the text as written when it is not valid escaping (a lone `%`). */
function decodeLenient(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
