import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../lib/errors.ts";
import { kafkaSection } from "../../lib/config/kafka-section.ts";
import { mongoSection, splitUriCredentials } from "../../lib/config/mongo-section.ts";
import { envVarName, loadConfigSource } from "../../lib/config/source.ts";

function iniFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "kt-config-")), "database.ini");
  writeFileSync(path, text);
  return path;
}

const SEED_INI = `
[remote_kafka]
servers = remote-a:9092,remote-b:9092
username = your-username
password = your-password
default_consumer_group_id = remote-consumer-group
default_consumer_topic = source-topic

[local_kafka]
servers = localhost:9092
default_consumer_group_id = local-consumer-group
default_consumer_topic = local-topic
default_producer_topic = local-topic

[mongodb]
host = localhost
port = 27017
default_database = glamira
default_collection = raw
`;

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("config", () => {
  test("reads the original database.ini layout", () => {
    const source = loadConfigSource(iniFile(SEED_INI), {});
    const remote = kafkaSection(source, "remote_kafka");
    expect(remote.brokers).toEqual(["remote-a:9092", "remote-b:9092"]);
    expect(remote.sasl).toEqual({ mechanism: "plain", username: "your-username", password: "your-password" });
    expect(remote.defaultGroupId).toBe("remote-consumer-group");
    const local = kafkaSection(source, "local_kafka");
    expect(local.sasl).toBeUndefined();
    expect(local.defaultProducerTopic).toBe("local-topic");
    const mongo = mongoSection(source, "mongodb");
    expect(mongo.uri).toBe("mongodb://localhost:27017/");
    expect(mongo.defaultDatabase).toBe("glamira");
  });

  test("environment overrides the file, by KT_<SECTION>_<KEY>", () => {
    expect(envVarName("remote_kafka", "password")).toBe("KT_REMOTE_KAFKA_PASSWORD");
    const source = loadConfigSource(iniFile(SEED_INI), {
      KT_LOCAL_KAFKA_SERVERS: "127.0.0.1:19092",
      KT_MONGODB_PORT: "27018",
    });
    expect(kafkaSection(source, "local_kafka").brokers).toEqual(["127.0.0.1:19092"]);
    expect(mongoSection(source, "mongodb").uri).toBe("mongodb://localhost:27018/");
  });

  test("a section can come from the environment alone", () => {
    const source = loadConfigSource(iniFile(SEED_INI), { KT_EDGE_SERVERS: "edge:9092" });
    expect(kafkaSection(source, "edge").brokers).toEqual(["edge:9092"]);
  });

  test("a missing file names the file and what to do", () => {
    const error = errorOf(() => loadConfigSource("database.ini", {}));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain("database.ini: cannot read config file");
    expect(error.message).toContain("database.ini.example");
  });

  test("errors name file, section and key, on one line", () => {
    const path = iniFile("[k]\nservers = a:1\nsasl_mechanism = scram-sha-1\nusername = u\npassword = hunter2\n");
    const error = errorOf(() => kafkaSection(loadConfigSource(path, {}), "k"));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`${path}: [k] sasl_mechanism: expected one of plain, scram-sha-256, scram-sha-512`);
  });

  test.each([
    ["[k]\nservers = nohostport\n", "k", "[k] servers: expected host:port"],
    ["[k]\nclient_id = x\n", "k", "[k] servers: is required"],
    ["[k]\nservers = a:1\npasword = x\n", "k", "[k] unknown key 'pasword'"],
    ["[k]\nservers = a:1\nusername = u\n", "k", "[k] password: is required with username"],
    ["[k]\nservers = a:1\nssl = maybe\n", "k", "[k] ssl: expected true or false"],
    ["[k]\nservers = a:1\nssl_ca_file = /nope.pem\n", "k", "[k] ssl_ca_file: no such file /nope.pem"],
    ["[k]\nservers = a:1\nssl_cert_file = /nope.pem\n", "k", "[k] ssl_cert_file: no such file /nope.pem"],
    ["[k]\nservers = a:1\nssl_key_password = x\n", "k", "[k] ssl_key_password: needs ssl_key_file"],
    ["[k]\nservers = a:1\nfetch_max_bytes = 10MB\n", "k", "[k] fetch_max_bytes: expected a whole number of bytes"],
    ["[k]\nservers = a:1\nmax_partition_fetch_bytes = 0\n", "k", "[k] max_partition_fetch_bytes: expected a whole number of bytes from 1"],
    ["[k]\nservers = a:1\nfetch_max_wait_ms = -5\n", "k", "[k] fetch_max_wait_ms: expected a whole number of milliseconds"],
    ["[k]\nservers = a:1\nsession_timeout_ms = 10\n", "k", "[k] session_timeout_ms: expected a whole number of milliseconds from 1000"],
    ["[k]\nservers = a:1\nlinger_ms = 1.5\n", "k", "[k] linger_ms: expected a whole number of milliseconds"],
    ["[k]\nservers = a:1\nbatch_size = lots\n", "k", "[k] batch_size: expected a whole number of bytes"],
    ["[k]\nservers = a:1\nfetch_min_bytes = 2000\nfetch_max_bytes = 1000\n", "k", "[k] fetch_min_bytes: must not exceed fetch_max_bytes (1000)"],
    ["[k]\nservers = a:1\nheartbeat_interval_ms = 30000\n", "k", "[k] heartbeat_interval_ms: must be less than session_timeout_ms (30000)"],
    ["[k]\nservers = a:1\nsession_timeout_ms = 6000\nheartbeat_interval_ms = 6000\n", "k", "[k] heartbeat_interval_ms: must be less than session_timeout_ms (6000)"],
  ])("kafka section %#: %p", (text, section, expected) => {
    const error = errorOf(() => kafkaSection(loadConfigSource(iniFile(text), {}), section));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(expected);
  });

  test.each([
    ["[m]\nport = 27017\n", "[m] host: is required"],
    ["[m]\nhost = h\nport = 99999\n", "[m] port: expected a port number from 1 to 65535"],
    ["[m]\nhost = h\nport = abc\n", "[m] port: expected a port number"],
    ["[m]\nuri = http://x\n", "[m] uri: expected a mongodb://"],
    ["[m]\nhost = h\ntls_certificate_key_file = /nope.pem\n", "[m] tls_certificate_key_file: no such file /nope.pem"],
  ])("mongo section %#", (text, expected) => {
    const error = errorOf(() => mongoSection(loadConfigSource(iniFile(text), {}), "m"));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(expected);
  });

  test("consumer and producer tuning keys, from the file and the environment", () => {
    const path = iniFile(
      "[k]\nservers = a:1\nfetch_min_bytes = 1\nfetch_max_bytes = 52428800\nmax_partition_fetch_bytes = 1048576\n" +
        "fetch_max_wait_ms = 500\nsession_timeout_ms = 45000\nheartbeat_interval_ms = 3000\nlinger_ms = 5\n",
    );
    const section = kafkaSection(loadConfigSource(path, { KT_K_BATCH_SIZE: "16384" }), "k");
    expect(section.consumer).toEqual({
      fetchMinBytes: 1,
      fetchMaxBytes: 52_428_800,
      maxPartitionFetchBytes: 1_048_576,
      fetchMaxWaitMs: 500,
      sessionTimeoutMs: 45_000,
      heartbeatIntervalMs: 3_000,
    });
    expect(section.producer).toEqual({ lingerMs: 5, batchBytes: 16_384 });
  });

  test("a section without tuning keys leaves every client default", () => {
    const section = kafkaSection(loadConfigSource(iniFile("[k]\nservers = a:1\n"), {}), "k");
    expect(Object.values(section.consumer).every((v) => v === undefined)).toBe(true);
    expect(section.producer).toEqual({ lingerMs: undefined, batchBytes: undefined });
  });

  test("TLS keys: CA and client certificate files, each implying ssl/tls; cert and key go together", () => {
    const dir = mkdtempSync(join(tmpdir(), "kt-tls-"));
    const pem = (name: string) => {
      const path = join(dir, name);
      writeFileSync(path, "-----BEGIN CERTIFICATE-----\n");
      return path;
    };
    const [ca, cert, key] = [pem("ca.pem"), pem("client.pem"), pem("client-key.pem")];
    const kafka = kafkaSection(loadConfigSource(iniFile(`[k]\nservers = a:1\nssl_cert_file = ${cert}\nssl_key_file = ${key}\n`), {}), "k");
    expect(kafka).toMatchObject({ ssl: true, sslCertFile: cert, sslKeyFile: key, sslCaFile: undefined });
    const off = kafkaSection(loadConfigSource(iniFile(`[k]\nservers = a:1\nssl = false\nssl_ca_file = ${ca}\n`), {}), "k");
    expect(off.ssl).toBe(false);
    const alone = errorOf(() => kafkaSection(loadConfigSource(iniFile(`[k]\nservers = a:1\nssl_cert_file = ${cert}\n`), {}), "k"));
    expect(alone.message).toContain("[k] ssl_key_file: is required with ssl_cert_file");
    const mongo = mongoSection(loadConfigSource(iniFile(`[m]\nhost = h\ntls_ca_file = ${ca}\ntls_certificate_key_file = ${cert}\n`), {}), "m");
    expect(mongo).toMatchObject({ tls: true, tlsCaFile: ca, tlsCertificateKeyFile: cert });
  });

  test("an unknown section lists the ones there are", () => {
    const error = errorOf(() => kafkaSection(loadConfigSource(iniFile(SEED_INI), {}), "nope"));
    expect(error.message).toContain("no section [nope] (sections: remote_kafka, local_kafka, mongodb)");
  });

  test("errors never echo a password", () => {
    const path = iniFile("[k]\nservers = a:1\nusername = u\npassword = hunter2\nsasl_mechanism = bogus\n");
    const error = errorOf(() => kafkaSection(loadConfigSource(path, {}), "k"));
    expect(error.message).not.toContain("hunter2");
  });

  test("credentials in a mongo uri are lifted out of the printable uri", () => {
    expect(splitUriCredentials("mongodb://app:p%40ss@h1:1,h2:2/db?replicaSet=rs0")).toEqual({
      uri: "mongodb://h1:1,h2:2/db?replicaSet=rs0",
      username: "app",
      password: "p@ss",
    });
    // Unescaped / and @ (and a lone %) in a password: still lifted out whole.
    expect(splitUriCredentials("mongodb://app:pa/s@s%@db:27017/x?appName=a")).toEqual({
      uri: "mongodb://db:27017/x?appName=a",
      username: "app",
      password: "pa/s@s%",
    });
    expect(splitUriCredentials("mongodb://db:27017/x?appName=a@b")).toEqual({ uri: "mongodb://db:27017/x?appName=a@b" });
    const source = loadConfigSource(iniFile("[m]\nuri = mongodb://app:s3cret@db:27017/\n"), {});
    const mongo = mongoSection(source, "m");
    expect(mongo.uri).toBe("mongodb://db:27017/");
    expect(mongo.auth).toEqual({ username: "app", password: "s3cret", authSource: undefined });
  });
});
