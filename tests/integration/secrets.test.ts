/**
 * Secrets never printed: every tool runs with known passwords in its config
 * file and in the environment, through a success and a failure path, and
 * none of them may appear on stdout, stderr or in the per-run log files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { kafkaSection } from "../../lib/config/kafka-section.ts";
import { loadConfigSource, sectionValues } from "../../lib/config/source.ts";
import { runTool, type RunToolResult } from "../helpers/run-tool.ts";
import { ROOT, STACK_CONFIG, localKafka, mongoConfig, uniqueName, withMongo } from "../helpers/stack-fixtures.ts";

/** The stack's real passwords (success paths) and made-up wrong ones (failure paths). */
const SECRETS = {
  kafka: "replicator-secret",
  postgres: "toolkit-secret",
  wrongKafka: "Wrong-Kafka-S3cret-71",
  wrongPostgres: "Wrong-Pg-S3cret-72",
  // Unescaped / and @: URIs that cannot be split naively.
  mongo: "Mongo-pa/ss@S3cret-73",
  mongoAt: "Mongo-p@ss-S3cret-75",
  registry: "Registry-S3cret-74",
};

const stack = loadConfigSource(STACK_CONFIG);
const tlsKafka = kafkaSection(stack, "remote_kafka_tls");
const postgres = sectionValues(stack, "postgres", ["host", "port", "user", "password", "database"]);
const mongoHostPort = mongoConfig.uri.replace(/^mongodb:\/\//, "").replace(/\/$/, "");

let dir: string;
let config: string;
let logDir: string;
const runs: Array<{ what: string; tool: string; run: RunToolResult }> = [];

/** Runs a tool with the secret-laden config, debug logs and a log directory; keeps its output for the sweep. */
async function tool(what: string, name: string, args: string[], env: Record<string, string> = {}): Promise<RunToolResult> {
  const run = await runTool(`tools/${name}.ts`, ["--config", config, "--log-dir", logDir, "--log-format", "json", "--log-level", "debug", ...args], {
    env: { KT_POSTGRES_PASSWORD: SECRETS.postgres, ...env },
    timeoutMs: 90_000,
  });
  runs.push({ what, tool: name, run });
  return run;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kt-secrets-"));
  logDir = join(dir, "logs");
  config = join(dir, "database.ini");
  // Section names as in local-stack.ini, so the KT_* port overrides of a moved stack apply here too.
  writeFileSync(
    config,
    `[local_kafka]
servers = ${localKafka.brokers.join(",")}

[remote_kafka_tls]
servers = ${tlsKafka.brokers.join(",")}
sasl_mechanism = scram-sha-512
username = replicator
password = ${SECRETS.kafka}
ssl_ca_file = ${resolve(ROOT, tlsKafka.sslCaFile!)}

[mongodb]
uri = ${mongoConfig.uri}
default_database = toolkit_secrets_tests

[mongodb_auth]
uri = mongodb://app:${SECRETS.mongo}@${mongoHostPort}/?authSource=admin
default_database = toolkit_secrets_tests

[mongodb_auth_at]
uri = mongodb://app:${SECRETS.mongoAt}@${mongoHostPort}/
default_database = toolkit_secrets_tests

; password from KT_POSTGRES_PASSWORD
[postgres]
host = ${postgres.host}
port = ${postgres.port}
user = ${postgres.user}
database = ${postgres.database}

[schema_registry]
url = ${sectionValues(stack, "schema_registry", ["url"]).url}
username = registry
password = ${SECRETS.registry}
`,
  );
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await withMongo((client) => client.db("toolkit_secrets_tests").dropDatabase()).catch(() => undefined);
});

describe("secrets are never printed", () => {
  test(
    "every tool, success and failure paths: no secret on stdout, stderr or in logs/",
    async () => {
      const topic = uniqueName("secrets");
      const group = uniqueName("secrets");
      const kafka = ["--kafka", "remote_kafka_tls"];
      const expectCode = (run: RunToolResult, code: number) => expect(run.code, run.stderr).toBe(code);

      // Success paths, in an order where each has data to work on.
      expectCode(await tool("produce", "produce-test-data", [...kafka, "--topic", topic, "--count", "20"]), 0);
      expectCode(await tool("verify", "verify-topic", [...kafka, "--topic", topic]), 0);
      expectCode(await tool("kafka2mongo", "kafka2mongo", [...kafka, "--topic", topic, "--group", group, "--collection", topic, "--until-caught-up"]), 0);
      expectCode(await tool("lag", "consumer-lag", [...kafka, "--group", group, "--topic", topic]), 0);
      expectCode(await tool("kafka2kafka", "kafka2kafka", ["--from", "remote_kafka_tls", "--to", "local_kafka", "--topic", topic, "--group", `${group}-k2k`, "--until-caught-up"]), 0);
      expectCode(await tool("kafka2sql", "kafka2sql", [...kafka, "--sql", "postgres", "--table", "secrets_sweep", "--topic", topic, "--group", `${group}-sql`, "--until-caught-up"]), 0);
      expectCode(await tool("process-events", "process-events", [...kafka, "--in", topic, "--out", `${topic}.out`, "--errors-topic", `${topic}.errors`, "--filtered-topic", "none", "--summary-topic", "none", "--group", `${group}-pe`, "--until-caught-up"]), 0);
      expectCode(await tool("mongo2kafka", "mongo2kafka", ["--collection", topic, ...kafka, "--topic", `${topic}.back`, "--checkpoint", join(dir, "checkpoint.json"), "--delay", "0", "--until-caught-up"]), 0);
      expectCode(await tool("mongo-health", "mongo-health", ["--max-collections", "0"]), 0);
      expectCode(await tool("topic-cat", "topic-cat", [...kafka, "-t", topic, "-c", "5"]), 0);
      // The stack's registry takes any basic-auth credentials; the password still must not show.
      expectCode(await tool("produce avro", "produce-test-data", [...kafka, "--topic", `${topic}.avro`, "--format", "avro", "--count", "5"]), 0);

      // Failure paths: wrong or refused credentials, from the file and from the environment.
      const wrongKafka = { KT_REMOTE_KAFKA_TLS_PASSWORD: SECRETS.wrongKafka };
      const failures = await Promise.all([
        tool("kafka2mongo, wrong kafka password", "kafka2mongo", [...kafka, "--topic", topic, "--group", group, "--until-caught-up"], wrongKafka),
        tool("lag, wrong kafka password", "consumer-lag", [...kafka, "--group", group, "--topic", topic], wrongKafka),
        tool("topic-cat, wrong kafka password", "topic-cat", [...kafka, "-t", topic, "-c", "5"], wrongKafka),
        tool("kafka2sql, wrong postgres password", "kafka2sql", [...kafka, "--sql", "postgres", "--topic", topic, "--group", group, "--until-caught-up"], { KT_POSTGRES_PASSWORD: SECRETS.wrongPostgres }),
        tool("mongo-health, refused credentials", "mongo-health", ["--mongo", "mongodb_auth", "--timeout", "10"]),
        tool("mongo-health, refused credentials, @ in the password", "mongo-health", ["--mongo", "mongodb_auth_at", "--timeout", "10"]),
        tool("mongo2kafka, refused credentials", "mongo2kafka", ["--mongo", "mongodb_auth", "--collection", topic, ...kafka, "--topic", `${topic}.back`, "--until-caught-up"]),
        tool("produce, registry unreachable", "produce-test-data", [...kafka, "--topic", `${topic}.avro`, "--format", "avro", "--count", "1"], {
          KT_SCHEMA_REGISTRY_URL: "http://127.0.0.1:1/apis/ccompat/v7",
        }),
      ]);
      for (const run of failures) expect(run.code, run.stderr).toBeGreaterThan(0);
      // A tool added later fails this test until it is run here too.
      const tools = readdirSync(resolve(ROOT, "tools")).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ""));
      expect(tools.filter((t) => !runs.some((r) => r.tool === t))).toEqual([]);

      const files = readdirSync(logDir);
      const logs = files.map((f) => ({ what: `log file ${f}`, text: readFileSync(join(logDir, f), "utf8") }));
      // Runs of one tool in the same second share a file (YYYYMMDD_HHMMSS_<tool>.log); every tool has one.
      expect(new Set(files.map((f) => f.replace(/^\d{8}_\d{6}_/, "").replace(/\.log$/, "")))).toEqual(new Set(runs.map((r) => r.tool)));
      const outputs = [
        ...runs.flatMap(({ what, run }) => [
          { what: `${what}: stdout`, text: run.stdout },
          { what: `${what}: stderr`, text: run.stderr },
        ]),
        ...logs,
      ];
      // A secret cut at a URI delimiter leaks in pieces: each piece is searched too.
      const needles = Object.values(SECRETS).flatMap((secret) => [secret, ...secret.split(/[/@:%]/).filter((piece) => piece.length >= 6)]);
      const leaks = outputs.flatMap(({ what, text }) =>
        [...new Set(needles)].filter((needle) => text.includes(needle)).map((needle) => `${what} prints ${needle}`),
      );
      expect(leaks).toEqual([]);
    },
    300_000,
  );
});
