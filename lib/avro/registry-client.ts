/**
 * A client for the Confluent Schema Registry REST API, on fetch: the calls
 * the toolkit needs (schema by id, register, latest version of a subject).
 * Works with Confluent, Apicurio's ccompat API (`.../apis/ccompat/v7`),
 * Karapace and Redpanda.
 *
 * Network failures, 5xx and 429 answers are retried with backoff; when the
 * attempts run out a {@link RegistryUnavailableError} is thrown, so a job can
 * stop without committing. A 404 is a {@link SchemaNotFoundError}, final.
 *
 * @example
 * const registry = createRegistryClient({ url: "http://127.0.0.1:8081" });
 * const { id } = await registry.register("user-login-value", schemaText);
 * const schemaText2 = await registry.schemaById(id);
 */
import { readFileSync } from "node:fs";
import { backoffDelay, sleep, type BackoffOptions } from "../backoff.ts";
import type { SchemaRegistrySection } from "../config/schema-registry-section.ts";
import { errorMessage } from "../errors.ts";

/** The registry has no such schema id or subject. */
export class SchemaNotFoundError extends Error {
  override name = "SchemaNotFoundError";
}

/** The registry did not answer usefully after every retry. */
export class RegistryUnavailableError extends Error {
  override name = "RegistryUnavailableError";
}

/** The registry refused a request (bad schema, incompatible, unauthorized). */
export class RegistryRequestError extends Error {
  override name = "RegistryRequestError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface RegistryClientOptions extends Pick<SchemaRegistrySection, "url" | "auth" | "caFile"> {
  /** Attempts per request before giving up; 5 by default. */
  attempts?: number;
  retry?: BackoffOptions;
  /** Per attempt; 10 s by default. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RegisteredSchema {
  id: number;
  version?: number;
  schema: string;
  schemaType: string;
}

export interface RegistryClient {
  readonly url: string;
  schemaById(id: number): Promise<{ schema: string; schemaType: string }>;
  register(subject: string, schema: string, schemaType?: string): Promise<{ id: number }>;
  latest(subject: string): Promise<RegisteredSchema>;
}

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const base = options.url.replace(/\/+$/, "");
  const attempts = options.attempts ?? 5;
  const retry = options.retry ?? { initialMs: 200, maxMs: 5_000 };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { Accept: `${CONTENT_TYPE}, application/json` };
  if (options.auth) {
    headers.Authorization = `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString("base64")}`;
  }
  const tls = options.caFile ? { ca: readFileSync(options.caFile, "utf8") } : undefined;

  async function request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    let lastProblem = "";
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        await sleep(backoffDelay(attempt - 1, retry), options.signal);
        if (options.signal?.aborted) break;
      }
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, {
          method,
          headers: body === undefined ? headers : { ...headers, "Content-Type": CONTENT_TYPE },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
          ...(tls ? { tls } : {}),
        } as RequestInit);
      } catch (error) {
        lastProblem = errorMessage(error);
        continue;
      }
      if (response.ok) return (await response.json()) as T;
      const detail = await errorDetail(response);
      if (response.status >= 500 || response.status === 429) {
        lastProblem = `HTTP ${response.status}${detail}`;
        continue;
      }
      if (response.status === 404) throw new SchemaNotFoundError(`${method} ${path}: not found in the registry${detail}`);
      throw new RegistryRequestError(`schema registry ${base}: ${method} ${path}: HTTP ${response.status}${detail}`, response.status);
    }
    throw new RegistryUnavailableError(`schema registry ${base} unavailable after ${attempts} attempt(s): ${lastProblem}`);
  }

  return {
    url: base,
    async schemaById(id) {
      const answer = await request<{ schema: string; schemaType?: string }>("GET", `/schemas/ids/${id}`);
      return { schema: answer.schema, schemaType: answer.schemaType ?? "AVRO" };
    },
    async register(subject, schema, schemaType = "AVRO") {
      const body = schemaType === "AVRO" ? { schema } : { schema, schemaType };
      const answer = await request<{ id: number }>("POST", `/subjects/${encodeURIComponent(subject)}/versions`, body);
      return { id: answer.id };
    },
    async latest(subject) {
      const answer = await request<{ id: number; version: number; schema: string; schemaType?: string }>(
        "GET",
        `/subjects/${encodeURIComponent(subject)}/versions/latest`,
      );
      return { id: answer.id, version: answer.version, schema: answer.schema, schemaType: answer.schemaType ?? "AVRO" };
    },
  };
}

/** The registry's own error message (`{"error_code":40403,"message":"..."}`), never the request. */
async function errorDetail(response: Response): Promise<string> {
  try {
    const text = await response.text();
    const message = (JSON.parse(text) as { message?: string }).message;
    return message ? `: ${message.split("\n")[0]!.slice(0, 200)}` : "";
  } catch {
    return "";
  }
}
