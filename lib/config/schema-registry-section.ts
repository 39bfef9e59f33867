/**
 * The `[schema_registry]` section of database.ini: a Confluent-compatible
 * Schema Registry (Confluent, Apicurio's ccompat API, Karapace, Redpanda).
 *
 * Keys: url (required, http:// or https://), username and password (HTTP basic
 * auth), ca_file (PEM bundle that signs the registry's TLS certificate).
 * Each can come from the environment: `KT_SCHEMA_REGISTRY_URL`, ...
 *
 * @example
 * const registry = schemaRegistrySection(loadConfigSource("database.ini"), "schema_registry");
 * registry.url; // "http://127.0.0.1:8081"
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { optionalText, textField } from "./fields.ts";
import { sectionValues, type ConfigSource } from "./source.ts";
import { sectionError } from "./validate.ts";

export interface SchemaRegistrySection {
  name: string;
  /** Base URL without a trailing slash and without credentials; safe to print. */
  url: string;
  auth?: { username: string; password: string };
  caFile?: string;
}

const KEYS = ["url", "username", "password", "ca_file"] as const;

const schema = z.object({
  url: textField.refine((u) => /^https?:\/\/[^/]/.test(u), { error: "expected an http:// or https:// URL" }),
  username: optionalText,
  password: z.string().optional(),
  ca_file: optionalText,
});

/** Reads and validates section `name` as a Schema Registry. */
export function schemaRegistrySection(source: ConfigSource, name: string): SchemaRegistrySection {
  const result = schema.safeParse(sectionValues(source, name, KEYS));
  if (!result.success) throw sectionError(source.path, name, result.error);
  const v = result.data;
  const where = `${source.path}: [${name}]`;
  if (v.username && v.password === undefined) throw new ConfigError(`${where} password: is required with username`);
  if (v.ca_file && !existsSync(v.ca_file)) throw new ConfigError(`${where} ca_file: no such file ${v.ca_file}`);
  const url = new URL(v.url);
  // Credentials in the URL would be printed wherever the URL is; lift them out.
  const username = v.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = v.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  url.username = "";
  url.password = "";
  return {
    name,
    url: url.toString().replace(/\/+$/, ""),
    auth: username ? { username, password: password ?? "" } : undefined,
    caFile: v.ca_file,
  };
}
