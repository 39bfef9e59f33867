/**
 * A Kafka cluster's section of database.ini, validated.
 *
 * Keys: servers (required, comma-separated host:port), username, password,
 * sasl_mechanism (plain | scram-sha-256 | scram-sha-512; plain when a
 * username is set without one, as in the original database.ini), ssl,
 * ssl_ca_file (implies ssl), client_id, default_consumer_group_id,
 * default_consumer_topic, default_producer_topic.
 *
 * @example
 * const kafka = kafkaSection(loadConfigSource("database.ini"), "remote_kafka");
 * kafka.brokers; // ["10.0.0.5:9092"]
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { booleanField, optionalText, textField } from "./fields.ts";
import { sectionValues, type ConfigSource } from "./source.ts";
import { sectionError } from "./validate.ts";

export const SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaSection {
  /** Section name, used in logs and error messages. */
  name: string;
  brokers: string[];
  clientId: string;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  ssl: boolean;
  sslCaFile?: string;
  defaultGroupId?: string;
  defaultConsumerTopic?: string;
  defaultProducerTopic?: string;
}

const KEYS = [
  "servers",
  "username",
  "password",
  "sasl_mechanism",
  "ssl",
  "ssl_ca_file",
  "client_id",
  "default_consumer_group_id",
  "default_consumer_topic",
  "default_producer_topic",
] as const;

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
  client_id: textField.default("kafka-toolkit"),
  default_consumer_group_id: optionalText,
  default_consumer_topic: optionalText,
  default_producer_topic: optionalText,
});

/** Reads and validates section `name` as a Kafka cluster. */
export function kafkaSection(source: ConfigSource, name: string): KafkaSection {
  const result = schema.safeParse(sectionValues(source, name, KEYS));
  if (!result.success) throw sectionError(source.path, name, result.error);
  const v = result.data;
  const where = `${source.path}: [${name}]`;

  if (v.sasl_mechanism && !v.username) throw new ConfigError(`${where} username: is required with sasl_mechanism`);
  if (v.username && !v.password) throw new ConfigError(`${where} password: is required with username`);
  if (v.ssl_ca_file && !existsSync(v.ssl_ca_file)) {
    throw new ConfigError(`${where} ssl_ca_file: no such file ${v.ssl_ca_file}`);
  }

  return {
    name,
    brokers: v.servers,
    clientId: v.client_id,
    sasl: v.username
      ? { mechanism: v.sasl_mechanism ?? "plain", username: v.username, password: v.password ?? "" }
      : undefined,
    ssl: v.ssl ?? v.ssl_ca_file !== undefined,
    sslCaFile: v.ssl_ca_file,
    defaultGroupId: v.default_consumer_group_id,
    defaultConsumerTopic: v.default_consumer_topic,
    defaultProducerTopic: v.default_producer_topic,
  };
}
