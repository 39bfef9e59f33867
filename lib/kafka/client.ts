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
import { isIP, connect as plainConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import {
  Kafka,
  logLevel,
  type Admin,
  type AdminConfig,
  type Consumer,
  type ConsumerConfig,
  type ISocketFactory,
  type KafkaConfig,
  type LogEntry,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from "kafkajs";
import type { KafkaSection } from "../config/kafka-section.ts";
import type { Logger } from "../log/logger.ts";
import { ConfigError } from "../errors.ts";
import { clientKeyProblem, tlsProblem } from "../tls-errors.ts";
import { registerCodecs } from "./codecs.ts";
import { consumerOptions, tunedProducer } from "./tuning.ts";

export interface KafkaClientOptions {
  /** How long to wait for a TCP connection and for SASL, per attempt. */
  connectionTimeoutMs?: number;
  /** Retries of retriable errors before a call fails. */
  retries?: number;
}

/** Sections already warned about, so a tool making several clients warns once. */
const warnedCleartext = new Set<string>();

export function createKafka(section: KafkaSection, log: Logger, options: KafkaClientOptions = {}): Kafka {
  if (section.sasl?.mechanism === "plain" && !section.ssl && !warnedCleartext.has(section.name)) {
    warnedCleartext.add(section.name);
    log.warn(`[${section.name}] sends its password in clear text: sasl_mechanism plain without ssl; set ssl = true or use scram-sha-512`, {
      kafka: section.name,
    });
  }
  registerCodecs();
  const config: KafkaConfig = {
    clientId: section.clientId,
    brokers: section.brokers,
    ssl: section.ssl ? sslOptions(section) : undefined,
    sasl: section.sasl ? saslOptions(section.sasl) : undefined,
    socketFactory: failFastSocketFactory(section),
    connectionTimeout: options.connectionTimeoutMs ?? 5_000,
    authenticationTimeout: options.connectionTimeoutMs ?? 5_000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 300, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => forwardKafkaLog(log, section.name, entry),
  };
  return new TunedKafka(config, section);
}

/**
 * A client whose consumers and producers follow the section's tuning, and
 * whose failed logins name the section they came from.
 */
class TunedKafka extends Kafka {
  constructor(
    config: KafkaConfig,
    private readonly section: KafkaSection,
  ) {
    super(config);
  }

  override admin(config?: AdminConfig): Admin {
    return namingLoginFailures(super.admin(config), this.section);
  }

  override consumer(config: ConsumerConfig): Consumer {
    // What the operator wrote in the section wins over the code's defaults.
    return namingLoginFailures(super.consumer({ ...config, ...consumerOptions(this.section.consumer) }), this.section);
  }

  override producer(config?: ProducerConfig): Producer {
    // A transaction decides itself what goes out together.
    if (config?.transactionalId) return namingLoginFailures(super.producer(config), this.section);
    return namingLoginFailures(tunedProducer(super.producer(config), this.section.producer), this.section);
  }
}

/**
 * kafkajs' login failure says what failed but not for which section; the
 * amended message does, and what to check. The error keeps its class and name.
 */
function namingLoginFailures<C extends { connect(): Promise<void> }>(client: C, section: KafkaSection): C {
  const connect = client.connect.bind(client);
  client.connect = async () => {
    try {
      await connect();
    } catch (error) {
      if (error instanceof Error && error.name === "KafkaJSSASLAuthenticationError" && !error.message.startsWith("[")) {
        const who = section.sasl ? ` user ${section.sasl.username} (${section.sasl.mechanism})` : "";
        error.message = `[${section.name}]${who}: ${error.message}; check username, password and sasl_mechanism`;
      }
      throw error;
    }
  };
  return client;
}

/** Brokers and auth mode, for logs; never the password. */
export function describeKafka(section: KafkaSection): string {
  const auth = section.sasl ? ` sasl=${section.sasl.mechanism} user=${section.sasl.username}` : "";
  const tls = section.ssl ? ` tls${section.sslCertFile ? "+client-cert" : ""}` : "";
  return `[${section.name}] ${section.brokers.join(",")}${tls}${auth}`;
}

function sslOptions(section: KafkaSection): KafkaConfig["ssl"] {
  const { sslCaFile, sslCertFile, sslKeyFile, sslKeyPassword } = section;
  if (!sslCaFile && !sslCertFile) return true;
  const client = sslCertFile && sslKeyFile ? { cert: readFileSync(sslCertFile, "utf8"), key: readFileSync(sslKeyFile, "utf8"), passphrase: sslKeyPassword } : undefined;
  const problem = client && clientKeyProblem(client);
  if (problem) {
    throw new ConfigError(`[${section.name}] ssl_key_file: cannot be used with ssl_cert_file (${problem}); an encrypted key needs ssl_key_password`);
  }
  return { ...(sslCaFile ? { ca: [readFileSync(sslCaFile, "utf8")] } : {}), ...client };
}

const KAFKA_TLS_KEYS = { ca: "ssl_ca_file", cert: "ssl_cert_file and ssl_key_file" };
const KEEP_ALIVE_MS = 60_000;

/**
 * kafkajs' own socket factory, plus: a TLS failure that no retry can fix (see
 * tls-errors.ts) gets a message naming the section and the key to fix, and is
 * marked not retriable, which kafkajs honours (patches/kafkajs+2.2.4.patch),
 * so the run fails in about a second instead of after every retry.
 */
function failFastSocketFactory(section: KafkaSection): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const socket = ssl
      ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(ssl as object) }, onConnect)
      : plainConnect({ host, port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_MS);
    // Registered before kafkajs' listener, so kafkajs wraps the amended error.
    socket.on("error", (error: Error & { retriable?: boolean }) => {
      const problem = tlsProblem(error, KAFKA_TLS_KEYS);
      if (!problem) return;
      error.message = `[${section.name}] ${host}:${port}: ${problem}`;
      error.retriable = false;
    });
    return socket;
  };
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
// A transaction begun while the previous one's markers are still being
// written is refused with CONCURRENT_TRANSACTIONS and retried at once: routine
// for a transaction per chunk, so it stays at debug.
const ROUTINE = "another concurrent operation on the same transaction";

function forwardKafkaLog(log: Logger, section: string, { level, log: entry }: LogEntry): void {
  const { message, broker, error } = entry as { message: string; broker?: string; error?: string };
  const fields = { kafka: section, ...(broker ? { broker } : {}), ...(error ? { error } : {}) };
  const routine = message.includes(ROUTINE) || (error?.includes(ROUTINE) ?? false);
  if (level <= logLevel.WARN && !routine) log.warn(`kafkajs: ${message}`, fields);
  else log.debug(`kafkajs: ${message}`, fields);
}
