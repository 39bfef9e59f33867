/**
 * A kafkajs client built from a validated database.ini section, with SASL
 * (plain, SCRAM) and TLS, and kafkajs' own logs routed into ours. Every
 * consumer and producer it makes takes the section's tuning keys, over the
 * defaults the caller passes (see tuning.ts).
 *
 * @example
 * const kafka = createKafka(kafkaSection(source, "remote_kafka"), log);
 * const admin = kafka.admin();
 * await admin.connect();
 */
import { readFileSync } from "node:fs";
import {
  Kafka,
  logLevel,
  type Consumer,
  type ConsumerConfig,
  type KafkaConfig,
  type LogEntry,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from "kafkajs";
import type { ConsumerTuning, KafkaSection, ProducerTuning } from "../config/kafka-section.ts";
import type { Logger } from "../log/logger.ts";
import { registerCodecs } from "./codecs.ts";
import { consumerOptions, tunedProducer } from "./tuning.ts";

export interface KafkaClientOptions {
  /** How long to wait for a TCP connection and for SASL, per attempt. */
  connectionTimeoutMs?: number;
  /** Retries of retriable errors before a call fails. */
  retries?: number;
}

export function createKafka(section: KafkaSection, log: Logger, options: KafkaClientOptions = {}): Kafka {
  registerCodecs();
  const config: KafkaConfig = {
    clientId: section.clientId,
    brokers: section.brokers,
    ssl: section.ssl ? sslOptions(section) : undefined,
    sasl: section.sasl ? saslOptions(section.sasl) : undefined,
    connectionTimeout: options.connectionTimeoutMs ?? 5_000,
    authenticationTimeout: options.connectionTimeoutMs ?? 5_000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 300, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => forwardKafkaLog(log, section.name, entry),
  };
  return new TunedKafka(config, section.consumer, section.producer);
}

/** A client whose consumers and producers follow the section's tuning. */
class TunedKafka extends Kafka {
  constructor(
    config: KafkaConfig,
    private readonly consumerTuning: ConsumerTuning,
    private readonly producerTuning: ProducerTuning,
  ) {
    super(config);
  }

  override consumer(config: ConsumerConfig): Consumer {
    // What the operator wrote in the section wins over the code's defaults.
    return super.consumer({ ...config, ...consumerOptions(this.consumerTuning) });
  }

  override producer(config?: ProducerConfig): Producer {
    // A transaction decides itself what goes out together.
    if (config?.transactionalId) return super.producer(config);
    return tunedProducer(super.producer(config), this.producerTuning);
  }
}

/** Brokers and auth mode, for logs; never the password. */
export function describeKafka(section: KafkaSection): string {
  const auth = section.sasl ? ` sasl=${section.sasl.mechanism} user=${section.sasl.username}` : "";
  return `[${section.name}] ${section.brokers.join(",")}${section.ssl ? " tls" : ""}${auth}`;
}

function sslOptions(section: KafkaSection): KafkaConfig["ssl"] {
  return section.sslCaFile ? { ca: [readFileSync(section.sslCaFile, "utf8")] } : true;
}

function saslOptions(sasl: NonNullable<KafkaSection["sasl"]>): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", username, password };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", username, password };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", username, password };
  }
}

// kafkajs logs every retried request at ERROR; the tools report what finally
// failed themselves, so these are warnings about a connection, not failures.
function forwardKafkaLog(log: Logger, section: string, { level, log: entry }: LogEntry): void {
  const { message, broker, error } = entry as { message: string; broker?: string; error?: string };
  const fields = { kafka: section, ...(broker ? { broker } : {}), ...(error ? { error } : {}) };
  if (level <= logLevel.WARN) log.warn(`kafkajs: ${message}`, fields);
  else log.debug(`kafkajs: ${message}`, fields);
}
