import { describe, expect, test } from "bun:test";
import { createKafka } from "../../lib/kafka/client.ts";
import type { KafkaSection } from "../../lib/config/kafka-section.ts";
import { createLogger } from "../../lib/log/logger.ts";
import { tlsProblem } from "../../lib/tls-errors.ts";

const KEYS = { ca: "ssl_ca_file", cert: "ssl_cert_file and ssl_key_file" };
const failure = (code: string, message = code) => Object.assign(new Error(message), { code });

describe("tlsProblem", () => {
  test.each([
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", /not signed by a CA this client trusts.*set ssl_ca_file/],
    ["SELF_SIGNED_CERT_IN_CHAIN", /not signed by a CA this client trusts/],
    ["ERR_TLS_CERT_ALTNAME_INVALID", /does not name the host connected to/],
    ["CERT_HAS_EXPIRED", /out of date/],
    ["ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", /refused .*client certificate.*set ssl_cert_file and ssl_key_file/],
    ["ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", /refused .*client certificate/],
    ["ERR_SSL_WRONG_VERSION_NUMBER", /does not speak TLS on this port/],
  ])("%s: says what to fix", (code, says) => {
    expect(tlsProblem(failure(code), KEYS)).toMatch(says);
  });

  test("found in the cause of a driver's wrapper error", () => {
    const wrapped = new Error("connection 1 to 127.0.0.1:27018 closed", { cause: failure("UNABLE_TO_VERIFY_LEAF_SIGNATURE") });
    expect(tlsProblem(wrapped, { ca: "tls_ca_file", cert: "tls_certificate_key_file" })).toContain("set tls_ca_file");
  });

  test.each(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT"])("%s may be an outage: not a TLS problem", (code) => {
    expect(tlsProblem(failure(code), KEYS)).toBeUndefined();
  });
});

describe("createKafka", () => {
  const section = (ssl: boolean): KafkaSection => ({
    name: "k",
    brokers: ["a:1"],
    clientId: "t",
    ssl,
    sasl: { mechanism: "plain", username: "u", password: "p" },
    consumer: {},
    producer: {},
  });

  test("SASL PLAIN without TLS warns once that the password travels in clear text", () => {
    const lines: string[] = [];
    const log = createLogger({ tool: "t", format: "json", write: (l) => lines.push(l) });
    createKafka(section(false), log);
    createKafka(section(false), log);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", kafka: "k" });
    expect(lines[0]).toContain("clear text");
    expect(lines[0]).not.toContain('"p"');
  });

  test("SASL PLAIN over TLS does not warn", () => {
    const lines: string[] = [];
    createKafka({ ...section(true), name: "k-tls" }, createLogger({ tool: "t", format: "json", write: (l) => lines.push(l) }));
    expect(lines).toEqual([]);
  });
});
