/**
 * TLS and SCRAM against the local stack's secure listeners (stack/tls.ts):
 * the remote broker's SASL_SSL (SCRAM-SHA-512 and -256) and mutual-TLS
 * listeners, FerretDB's TLS listener requiring a client certificate. Then
 * the ways a TLS or SASL setup goes wrong, each one tool run that must end
 * with exit 1 and one clear line on stderr, well before a retry timeout.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { kafkaSection } from "../../lib/config/kafka-section.ts";
import { mongoSection } from "../../lib/config/mongo-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import { createMongoClient } from "../../lib/mongo/client.ts";
import { runTool } from "../helpers/run-tool.ts";
import { ROOT, uniqueName, runToolToEnd, STACK_CONFIG } from "../helpers/stack-fixtures.ts";

const source = loadConfigSource(STACK_CONFIG);
const tlsKafka = kafkaSection(source, "remote_kafka_tls");
const mtlsKafka = kafkaSection(source, "remote_kafka_mtls");
const tlsMongo = mongoSection(source, "mongodb_tls");
const [tlsHostPort] = tlsKafka.brokers;
const [mtlsHostPort] = mtlsKafka.brokers;
const TEST_DB = "toolkit_tls_tests";
/** The bound for a misconfiguration to be reported; retries would take longer. */
const FAIL_WITHIN_MS = 10_000;

/** Env overrides that point a section at `localhost`, which the stack's certificate does not name. */
const asLocalhost = (hostPort: string) => hostPort.replace(/^127\.0\.0\.1:/, "localhost:");

let scratch: string;
let otherCa: { cert: string; key: string };
/** The stack's client key, encrypted with KEY_PASSWORD, alone and after the certificate. */
let encrypted: { key: string; bundle: string };
const KEY_PASSWORD = "client-key-passphrase";

beforeAll(async () => {
  // A CA the servers do not know: trusted by a client, it cannot verify them;
  // presented as a client certificate, the servers refuse it.
  scratch = mkdtempSync(join(tmpdir(), "kt-tls-"));
  otherCa = { cert: join(scratch, "other-ca.pem"), key: join(scratch, "other-ca-key.pem") };
  const openssl = Bun.spawnSync(
    ["openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", otherCa.key, "-out", otherCa.cert, "-days", "1", "-subj", "/CN=a CA nobody trusts"],
    { stderr: "pipe" },
  );
  expect(openssl.exitCode).toBe(0);
  encrypted = { key: join(scratch, "client-key-encrypted.pem"), bundle: join(scratch, "client-bundle-encrypted.pem") };
  const encrypt = Bun.spawnSync(
    ["openssl", "pkey", "-in", resolve(ROOT, mtlsKafka.sslKeyFile!), "-aes256", "-passout", `pass:${KEY_PASSWORD}`, "-out", encrypted.key],
    { stderr: "pipe" },
  );
  expect(encrypt.exitCode).toBe(0);
  writeFileSync(encrypted.bundle, readFileSync(resolve(ROOT, mtlsKafka.sslCertFile!), "utf8") + readFileSync(encrypted.key, "utf8"));
});

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  const client = createMongoClient(tlsMongo, { timeoutMs: 10_000 });
  await client.connect();
  await client.db(TEST_DB).dropDatabase().catch(() => undefined);
  await client.close();
});

describe("TLS and SCRAM on the stack", () => {
  test(
    "kafka2mongo reads over SASL_SSL (SCRAM-SHA-512) and writes over TLS with a client certificate",
    async () => {
      const topic = uniqueName("tls-in");
      const produced = await runToolToEnd("tools/produce-test-data.ts", ["--kafka", "remote_kafka_tls", "--topic", topic, "--count", "200"]);
      expect(produced.code, produced.stderr).toBe(0);
      const run = await runToolToEnd("tools/kafka2mongo.ts", [
        "--kafka", "remote_kafka_tls", "--mongo", "mongodb_tls", "--topic", topic, "--group", uniqueName("tls"),
        "--db", TEST_DB, "--collection", topic, "--until-caught-up", "--json",
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ consumed: 200, inserted: 200, committed: 200 });
    },
    120_000,
  );

  test(
    "SCRAM-SHA-256 over SASL_SSL, and mutual TLS with an encrypted client key, read the same topic",
    async () => {
      const topic = uniqueName("tls-mtls");
      const produced = await runToolToEnd("tools/produce-test-data.ts", ["--kafka", "remote_kafka_mtls", "--topic", topic, "--count", "50"], {
        KT_REMOTE_KAFKA_MTLS_SSL_KEY_FILE: encrypted.key,
        KT_REMOTE_KAFKA_MTLS_SSL_KEY_PASSWORD: KEY_PASSWORD,
      });
      expect(produced.code, produced.stderr).toBe(0);
      const sha256 = await runToolToEnd("tools/verify-topic.ts", ["--kafka", "remote_kafka_tls", "--topic", topic, "--json"], {
        KT_REMOTE_KAFKA_TLS_SASL_MECHANISM: "scram-sha-256",
      });
      expect(sha256.code, sha256.stderr).toBe(0);
      expect(sha256.stderr).toContain("sasl=scram-sha-256");
      expect(JSON.parse(sha256.stdout).messages).toBe(50);
      const mongo = await runToolToEnd("tools/mongo-health.ts", ["--mongo", "mongodb_tls", "--max-collections", "0"], {
        KT_MONGODB_TLS_TLS_CERTIFICATE_KEY_FILE: encrypted.bundle,
        KT_MONGODB_TLS_TLS_CERTIFICATE_KEY_FILE_PASSWORD: KEY_PASSWORD,
      });
      expect(mongo.code, mongo.stdout + mongo.stderr).toBe(0);
    },
    120_000,
  );
});

/** A misconfiguration: the section, the env overrides that break it, the tool run, and what the line must say. */
interface Misconfiguration {
  name: string;
  tool: string;
  args: string[];
  env: () => Record<string, string>;
  says: RegExp;
  /** 1 (runtime) unless the configuration itself is wrong (2). */
  code?: number;
}

const consumeTls = ["--kafka", "remote_kafka_tls", "--topic", "tls-never-read", "--group", "tls-failures"];
const consumeMtls = ["--kafka", "remote_kafka_mtls", "--topic", "tls-never-read", "--group", "tls-failures"];
const CASES: Misconfiguration[] = [
  {
    name: "a wrong SCRAM password",
    tool: "verify-topic",
    args: ["--kafka", "remote_kafka_tls", "--topic", "tls-never-read"],
    env: () => ({ KT_REMOTE_KAFKA_TLS_PASSWORD: "not-the-password" }),
    says: /\[remote_kafka_tls\] user replicator \(scram-sha-512\): .*invalid credentials.*check username, password and sasl_mechanism/,
  },
  {
    name: "a broker certificate signed by a CA the client does not trust",
    tool: "kafka2mongo",
    args: [...consumeTls, "--until-caught-up"],
    env: () => ({ KT_REMOTE_KAFKA_TLS_SSL_CA_FILE: otherCa.cert }),
    says: /\[remote_kafka_tls\] .*certificate is not signed by a CA this client trusts.*set ssl_ca_file/,
  },
  {
    name: "the system CAs only (no ssl_ca_file) for a private CA",
    tool: "kafka2kafka",
    args: ["--from", "remote_kafka_tls", "--topic", "tls-never-read", "--group", "tls-failures", "--until-caught-up"],
    env: () => ({ KT_REMOTE_KAFKA_TLS_SSL_CA_FILE: "", KT_REMOTE_KAFKA_TLS_SSL: "true" }),
    says: /certificate is not signed by a CA this client trusts.*set ssl_ca_file/,
  },
  {
    name: "a broker host name the certificate does not name",
    tool: "consumer-lag",
    args: ["--kafka", "remote_kafka_tls", "--group", "tls-failures", "--topic", "tls-never-read"],
    env: () => ({ KT_REMOTE_KAFKA_TLS_SERVERS: asLocalhost(tlsHostPort!) }),
    says: /certificate does not name the host connected to.*localhost/,
  },
  {
    name: "no client certificate for a broker that requires one",
    tool: "produce-test-data",
    args: ["--kafka", "remote_kafka_mtls", "--topic", "tls-never-written", "--count", "1"],
    env: () => ({ KT_REMOTE_KAFKA_MTLS_SSL_CERT_FILE: "", KT_REMOTE_KAFKA_MTLS_SSL_KEY_FILE: "" }),
    says: /\[remote_kafka_mtls\] .*refused the connection's client certificate or its absence.*ssl_cert_file and ssl_key_file/,
  },
  {
    name: "a client certificate from a CA the broker does not trust",
    tool: "kafka2mongo",
    args: [...consumeMtls, "--until-caught-up"],
    env: () => ({ KT_REMOTE_KAFKA_MTLS_SSL_CERT_FILE: otherCa.cert, KT_REMOTE_KAFKA_MTLS_SSL_KEY_FILE: otherCa.key }),
    says: /refused the connection's client certificate/,
  },
  {
    name: "no client certificate for FerretDB's TLS listener",
    tool: "kafka2mongo",
    args: ["--mongo", "mongodb_tls", "--topic", "tls-never-read", "--group", "tls-failures", "--until-caught-up"],
    env: () => ({ KT_MONGODB_TLS_TLS_CERTIFICATE_KEY_FILE: "" }),
    says: /cannot reach MongoDB \[mongodb_tls\].*refused the connection's client certificate or its absence.*tls_certificate_key_file/,
  },
  {
    name: "a MongoDB host name the certificate does not name",
    tool: "mongo-health",
    args: ["--mongo", "mongodb_tls", "--timeout", "30"],
    env: () => ({ KT_MONGODB_TLS_HOST: "localhost" }),
    says: /UNHEALTHY[\s\S]*certificate does not name the host connected to/,
  },
  {
    name: "a wrong passphrase for an encrypted client key",
    tool: "kafka2mongo",
    args: [...consumeMtls, "--until-caught-up"],
    env: () => ({ KT_REMOTE_KAFKA_MTLS_SSL_KEY_FILE: encrypted.key, KT_REMOTE_KAFKA_MTLS_SSL_KEY_PASSWORD: "not-the-passphrase" }),
    says: /\[remote_kafka_mtls\] ssl_key_file: cannot be used.*ssl_key_password/,
    code: 2,
  },
  {
    name: "an encrypted MongoDB client key without its passphrase",
    tool: "mongo-health",
    args: ["--mongo", "mongodb_tls"],
    env: () => ({ KT_MONGODB_TLS_TLS_CERTIFICATE_KEY_FILE: encrypted.bundle }),
    says: /\[mongodb_tls\] tls_certificate_key_file: .*tls_certificate_key_file_password/,
    code: 2,
  },
];

describe("a TLS or SASL misconfiguration fails at once with one clear line", () => {
  // Wrong passwords must not show either.
  const secrets = [KEY_PASSWORD, "not-the-passphrase", "not-the-password", tlsKafka.sasl!.password];
  for (const c of CASES) {
    test(
      `${c.tool}: ${c.name}`,
      async () => {
        const flags = ["--config", STACK_CONFIG, "--log-dir", "none", "--log-format", "json"];
        const run = await runTool(`tools/${c.tool}.ts`, [...flags, ...c.args], { env: c.env(), timeoutMs: FAIL_WITHIN_MS });
        // Logs are JSON lines: every other stderr line is the tool's own report.
        const plain = run.stderr.split("\n").filter((l) => l.trim() && !l.startsWith("{"));
        // mongo-health reports an unreachable server on stdout, as its verdict.
        const report = c.tool === "mongo-health" && c.code === undefined;
        const said = report ? run.stdout : plain.join("\n");
        expect(run.timedOut).toBe(false);
        expect(run.code, run.stderr).toBe(c.code ?? 1);
        expect(said).toMatch(c.says);
        if (!report) expect(plain, run.stderr).toHaveLength(1);
        // Failing at once means no retry: kafkajs logs each failed connection attempt.
        const attempts = run.stderr.split("\n").filter((l) => l.includes('"msg":"kafkajs: Connection error'));
        expect(attempts.length, run.stderr).toBeLessThanOrEqual(1);
        for (const secret of secrets) expect(run.stdout + run.stderr).not.toContain(secret);
      },
      // The run itself is killed (timedOut) after FAIL_WITHIN_MS.
      FAIL_WITHIN_MS + 5_000,
    );
  }
});
