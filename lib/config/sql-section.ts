/**
 * A SQL target section of database.ini, validated: SQLite (a file, no server)
 * or PostgreSQL. The kind comes from a `type` key, or else from the keys:
 * a section with `path` is SQLite, any other is PostgreSQL.
 *
 * SQLite keys: type, path. PostgreSQL keys: type, url (wins over the
 * others it names), host (127.0.0.1), port (5432), user, password,
 * database, ssl (false).
 *
 * @example
 * const target = sqlSection(loadConfigSource("database.ini"), "postgres");
 * if (target.kind === "postgres") target.host; // "127.0.0.1"
 */
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { booleanField, optionalText, portField } from "./fields.ts";
import { sectionValues, type ConfigSource } from "./source.ts";
import { sectionError } from "./validate.ts";

export interface SqliteSection {
  kind: "sqlite";
  name: string;
  path: string;
}

export interface PostgresSection {
  kind: "postgres";
  name: string;
  host: string;
  port: number;
  user?: string;
  /** Never printed; describePostgres leaves it out. */
  password?: string;
  database?: string;
  ssl: boolean;
}

export type SqlSection = SqliteSection | PostgresSection;

const SQLITE_KEYS = ["type", "path"] as const;
const POSTGRES_KEYS = ["type", "url", "host", "port", "user", "password", "database", "ssl"] as const;
const ALL_KEYS = [...new Set([...SQLITE_KEYS, ...POSTGRES_KEYS])];

const postgresSchema = z.object({
  url: optionalText.refine((u) => u === undefined || /^postgres(ql)?:\/\//.test(u), {
    error: "expected a postgres:// or postgresql:// URL",
  }),
  host: optionalText,
  port: portField.optional(),
  user: optionalText,
  password: z.string().optional(),
  database: optionalText,
  ssl: booleanField.optional(),
});

/** Reads and validates section `name` as a SQL target. */
export function sqlSection(source: ConfigSource, name: string): SqlSection {
  const values = sectionValues(source, name, ALL_KEYS);
  const where = `${source.path}: [${name}]`;
  const type = values.type?.trim().toLowerCase();
  if (type !== undefined && type !== "sqlite" && type !== "postgres" && type !== "postgresql") {
    throw new ConfigError(`${where} type: expected sqlite or postgres`);
  }
  const kind = type === undefined ? (values.path !== undefined ? "sqlite" : "postgres") : type === "sqlite" ? "sqlite" : "postgres";
  const own: readonly string[] = kind === "sqlite" ? SQLITE_KEYS : POSTGRES_KEYS;
  const foreign = Object.keys(values).find((key) => !own.includes(key));
  if (foreign) throw new ConfigError(`${where} ${foreign}: not a ${kind} key (${kind} keys: ${own.join(", ")})`);

  if (kind === "sqlite") {
    const path = values.path?.trim();
    if (!path) throw new ConfigError(`${where} path: is required for a sqlite section`);
    return { kind, name, path };
  }
  const result = postgresSchema.safeParse(values);
  if (!result.success) throw sectionError(source.path, name, result.error);
  const v = result.data;
  const fromUrl = v.url ? parsePostgresUrl(v.url, where) : {};
  return {
    kind,
    name,
    host: v.host ?? fromUrl.host ?? "127.0.0.1",
    port: v.port ?? fromUrl.port ?? 5432,
    user: v.user ?? fromUrl.user,
    password: v.password ?? fromUrl.password,
    database: v.database ?? fromUrl.database,
    ssl: v.ssl ?? fromUrl.ssl ?? false,
  };
}

/** One line naming the server and database, without the password. */
export function describeSqlTarget(section: SqlSection): string {
  if (section.kind === "sqlite") return `sqlite ${section.path}`;
  return `postgres ${section.user ? `${section.user}@` : ""}${section.host}:${section.port}/${section.database ?? section.user ?? ""}`;
}

function parsePostgresUrl(text: string, where: string): Partial<Omit<PostgresSection, "kind" | "name">> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${where} url: not a valid URL`);
  }
  const sslmode = url.searchParams.get("sslmode");
  return {
    host: url.hostname || undefined,
    port: url.port ? Number(url.port) : undefined,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
    ssl: sslmode === null ? undefined : sslmode !== "disable",
  };
}
