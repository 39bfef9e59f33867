/**
 * A Kafka cluster's section of database.ini, validated.
 *
 * Keys: servers (required, comma-separated host:port), username, password,
 * sasl_mechanism (plain | scram-sha-256 | scram-sha-512; plain when a
 * username is set without one, as in the original database.ini), ssl,
 * ssl_ca_file, ssl_cert_file and ssl_key_file (PEM files; a client
 * certificate for brokers that require one; each implies ssl),
 * ssl_key_password (for an encrypted ssl_key_file), client_id,
 * default_consumer_group_id, default_consumer_topic, default_producer_topic.
 *
 * Tuning, every key optional (kafkajs defaults apply when unset), named
 * after the Java client's settings: consumers take fetch_min_bytes,
 * fetch_max_bytes, max_partition_fetch_bytes, fetch_max_wait_ms,
 * session_timeout_ms and heartbeat_interval_ms; producers take linger_ms and
 * batch_size (bytes of keys and values per produce request).
 *
 * @example
 * const kafka = kafkaSection(loadConfigSource("database.ini"), "remote_kafka");
 * kafka.brokers; // ["10.0.0.5:9092"]
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { booleanField, optionalText, textField, wholeNumberField } from "./fields.ts";
import { sectionValues, type ConfigSource } from "./source.ts";
import { sectionError } from "./validate.ts";

export const SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** The session timeout consumers use when the section sets none. */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;

export interface KafkaSection {
  /** Section name, used in logs and error messages. */
  name: string;
  brokers: string[];
  clientId: string;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  ssl: boolean;
  /** PEM file of the CAs to trust instead of the system's. */
  sslCaFile?: string;
  /** PEM files of the client certificate and its key, always both or neither. */
  sslCertFile?: string;
  sslKeyFile?: string;
  /** Passphrase of an encrypted sslKeyFile. */
  sslKeyPassword?: string;
  defaultGroupId?: string;
  defaultConsumerTopic?: string;
  defaultProducerTopic?: string;
  consumer: ConsumerTuning;
  producer: ProducerTuning;
}

/** Consumer settings from the section; unset ones keep the client's defaults. */
export interface ConsumerTuning {
  fetchMinBytes?: number;
  fetchMaxBytes?: number;
  maxPartitionFetchBytes?: number;
  fetchMaxWaitMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

/** Producer settings from the section; unset ones mean "send each batch as it comes". */
export interface ProducerTuning {
  /** How long a send waits for other sends to join it in one request. */
  lingerMs?: number;
  /** Most bytes of keys and values in one produce request. */
  batchBytes?: number;
}

const KEYS = [
  "servers",
  "username",
  "password",
  "sasl_mechanism",
  "ssl",
  "ssl_ca_file",
  "ssl_cert_file",
  "ssl_key_file",
  "ssl_key_password",
  "client_id",
  "default_consumer_group_id",
  "default_consumer_topic",
  "default_producer_topic",
  "fetch_min_bytes",
  "fetch_max_bytes",
  "max_partition_fetch_bytes",
  "fetch_max_wait_ms",
  "session_timeout_ms",
  "heartbeat_interval_ms",
  "linger_ms",
  "batch_size",
] as const;

const GIB = 1024 * 1024 * 1024;
// The broker's default group.max.session.timeout.ms is 30 min; beyond it a
// join is refused, so a larger value is a typo rather than a wish.
const MAX_SESSION_MS = 30 * 60 * 1000;

const schema = z.object({
  servers: z
    .string({ error: "is required (comma-separated host:port list)" })
    .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.length > 0, { error: "is required (comma-separated host:port list)" })
    .refine((list) => list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), { error: "expected host:port[,host:port...]" }),
  username: optionalText,
  password: z.string().optional(),
  sasl_mechanism: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(SASL_MECHANISMS, { error: `expected one of ${SASL_MECHANISMS.join(", ")}` }))
    .optional(),
  ssl: booleanField.optional(),
  ssl_ca_file: optionalText,
  ssl_cert_file: optionalText,
  ssl_key_file: optionalText,
  ssl_key_password: z.string().optional(),
  client_id: textField.default("kafka-toolkit"),
  default_consumer_group_id: optionalText,
  default_consumer_topic: optionalText,
  default_producer_topic: optionalText,
  fetch_min_bytes: wholeNumberField("bytes", 1, GIB).optional(),
  fetch_max_bytes: wholeNumberField("bytes", 1, GIB).optional(),
  max_partition_fetch_bytes: wholeNumberField("bytes", 1, GIB).optional(),
  fetch_max_wait_ms: wholeNumberField("milliseconds", 0, 60_000).optional(),
  session_timeout_ms: wholeNumberField("milliseconds", 1_000, MAX_SESSION_MS).optional(),
  heartbeat_interval_ms: wholeNumberField("milliseconds", 100, MAX_SESSION_MS).optional(),
  linger_ms: wholeNumberField("milliseconds", 0, 60_000).optional(),
  batch_size: wholeNumberField("bytes", 1, GIB).optional(),
});

/** Reads and validates section `name` as a Kafka cluster. */
export function kafkaSection(source: ConfigSource, name: string): KafkaSection {
  const result = schema.safeParse(sectionValues(source, name, KEYS));
  if (!result.success) throw sectionError(source.path, name, result.error);
  const v = result.data;
  const where = `${source.path}: [${name}]`;

  if (v.sasl_mechanism && !v.username) throw new ConfigError(`${where} username: is required with sasl_mechanism`);
  if (v.username && !v.password) throw new ConfigError(`${where} password: is required with username`);
  for (const key of ["ssl_ca_file", "ssl_cert_file", "ssl_key_file"] as const) {
    const file = v[key];
    if (file && !existsSync(file)) throw new ConfigError(`${where} ${key}: no such file ${file}`);
  }
  if (Boolean(v.ssl_cert_file) !== Boolean(v.ssl_key_file)) {
    const [missing, set] = v.ssl_cert_file ? ["ssl_key_file", "ssl_cert_file"] : ["ssl_cert_file", "ssl_key_file"];
    throw new ConfigError(`${where} ${missing}: is required with ${set}`);
  }
  if (v.ssl_key_password !== undefined && !v.ssl_key_file) throw new ConfigError(`${where} ssl_key_password: needs ssl_key_file`);

  if (v.fetch_min_bytes !== undefined && v.fetch_max_bytes !== undefined && v.fetch_min_bytes > v.fetch_max_bytes) {
    throw new ConfigError(`${where} fetch_min_bytes: must not exceed fetch_max_bytes (${v.fetch_max_bytes})`);
  }
  // The group coordinator needs several heartbeats per session to tell a
  // slow member from a dead one; the Java client has the same rule.
  const sessionMs = v.session_timeout_ms ?? DEFAULT_SESSION_TIMEOUT_MS;
  if (v.heartbeat_interval_ms !== undefined && v.heartbeat_interval_ms >= sessionMs) {
    throw new ConfigError(`${where} heartbeat_interval_ms: must be less than session_timeout_ms (${sessionMs})`);
  }

  return {
    name,
    brokers: v.servers,
    clientId: v.client_id,
    sasl: v.username
      ? { mechanism: v.sasl_mechanism ?? "plain", username: v.username, password: v.password ?? "" }
      : undefined,
    ssl: v.ssl ?? (v.ssl_ca_file !== undefined || v.ssl_cert_file !== undefined),
    sslCaFile: v.ssl_ca_file,
    sslCertFile: v.ssl_cert_file,
    sslKeyFile: v.ssl_key_file,
    sslKeyPassword: v.ssl_key_password,
    defaultGroupId: v.default_consumer_group_id,
    defaultConsumerTopic: v.default_consumer_topic,
    defaultProducerTopic: v.default_producer_topic,
    consumer: {
      fetchMinBytes: v.fetch_min_bytes,
      fetchMaxBytes: v.fetch_max_bytes,
      maxPartitionFetchBytes: v.max_partition_fetch_bytes,
      fetchMaxWaitMs: v.fetch_max_wait_ms,
      sessionTimeoutMs: v.session_timeout_ms,
      heartbeatIntervalMs: v.heartbeat_interval_ms,
    },
    producer: { lingerMs: v.linger_ms, batchBytes: v.batch_size },
  };
}
