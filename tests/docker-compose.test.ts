/**
 * Checks of docker-compose.yml (Docker cannot run here): a real Compose parser
 * (Debian's docker-compose, installed by `bun stack/stack.ts install`) must
 * accept the file, and statically: the services, their images, the published
 * ports, and that the KAFKA_* variables turn into the intended broker
 * properties under the apache/kafka image's naming rule.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

interface Service {
  image?: string;
  ports?: (string | { published?: string | number; target?: number })[];
  environment?: Record<string, string | number | boolean> | string[];
  command?: string[] | string;
  network_mode?: string;
}

const compose = Bun.YAML.parse(await Bun.file(join(import.meta.dir, "..", "docker-compose.yml")).text()) as {
  services: Record<string, Service>;
};

function service(name: string): Service {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

/** Host ports a service publishes, from short ("127.0.0.1:9092:9092") or long syntax. */
function publishedPorts(s: Service): number[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === "string") {
      const parts = p.split(":");
      return Number(parts.length >= 2 ? parts[parts.length - 2] : parts[0]);
    }
    return Number(p.published);
  });
}

/** apache/kafka's env-to-property rule: drop KAFKA_, lower-case, _ -> ., ___ -> -, __ -> _. */
function brokerProperties(s: Service): Record<string, string> {
  const env = s.environment;
  if (env === undefined || Array.isArray(env)) throw new Error("expected environment as a map");
  const props: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith("KAFKA_") || key === "KAFKA_OPTS") continue;
    const name = key.replace("KAFKA_", "").toLowerCase().replaceAll("_", ".").replaceAll("...", "-").replaceAll("..", "_");
    props[name] = String(value);
  }
  return props;
}

const COMPOSE_CLI = Bun.which("docker-compose");
const NO_PARSER = "docker-compose not installed: `bun stack/stack.ts install` installs Debian's package";
if (COMPOSE_CLI === null) console.warn(`docker-compose.test.ts: skipping the Compose parser check (${NO_PARSER})`);

describe("docker-compose.yml", () => {
  test.skipIf(COMPOSE_CLI === null)(`a real Compose parser accepts it and sees every service (skipped when ${NO_PARSER})`, () => {
    const file = join(import.meta.dir, "..", "docker-compose.yml");
    const run = Bun.spawnSync([COMPOSE_CLI!, "-f", file, "config"], { stdout: "pipe", stderr: "pipe" });
    expect(run.stderr.toString()).toBe("");
    expect(run.exitCode).toBe(0);
    const normalized = Bun.YAML.parse(run.stdout.toString()) as { services: Record<string, Service> };
    expect(Object.keys(normalized.services).sort()).toEqual(Object.keys(compose.services).sort());
  }, 60_000); // a Python start plus the parse: seconds on a loaded machine

  test("has the servers with real images", () => {
    expect(service("local-kafka").image).toBe("apache/kafka:3.9.1");
    expect(service("remote-kafka").image).toMatch(/^apache\/kafka:3\.9\.\d+$/);
    expect(service("mongo").image).toBe("mongo:7");
    expect(service("postgres").image).toMatch(/^postgres:1\d$/);
    expect(service("schema-registry").image).toBe("apicurio/apicurio-registry-mem:2.4.2.Final");
  });

  test("postgres has the local stack's database, user and port", () => {
    expect(publishedPorts(service("postgres"))).toEqual([5432]);
    expect(service("postgres").environment).toMatchObject({ POSTGRES_USER: "toolkit", POSTGRES_PASSWORD: "toolkit-secret", POSTGRES_DB: "toolkit" });
  });

  test("publishes the same ports as the local stack", () => {
    expect(publishedPorts(service("local-kafka"))).toEqual([9092]);
    expect(publishedPorts(service("schema-registry"))).toEqual([8081]);
    expect(publishedPorts(service("remote-kafka")).sort()).toEqual([9192, 9193]);
    expect(publishedPorts(service("mongo"))).toEqual([27017]);
  });

  test("local-kafka is a single-node KRaft broker advertising 127.0.0.1:9092", () => {
    const props = brokerProperties(service("local-kafka"));
    expect(props["process.roles"]).toBe("broker,controller");
    expect(props["advertised.listeners"]).toBe("PLAINTEXT://127.0.0.1:9092");
    expect(props["offsets.topic.replication.factor"]).toBe("1");
  });

  test("remote-kafka has PLAINTEXT 9192 and SASL_PLAINTEXT SCRAM-SHA-512 9193", () => {
    const props = brokerProperties(service("remote-kafka"));
    expect(props["advertised.listeners"]).toBe("PLAINTEXT://127.0.0.1:9192,SASL_PLAINTEXT://127.0.0.1:9193");
    expect(props["sasl.enabled.mechanisms"]).toBe("SCRAM-SHA-512");
    expect(props["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]).toContain("ScramLoginModule required;");
    expect(props["inter.broker.listener.name"]).toBe("PLAINTEXT");
  });

  test("a one-shot service creates the replicator SCRAM user on remote-kafka", () => {
    const oneShot = service("remote-kafka-scram-user");
    expect(oneShot.network_mode).toBe("service:remote-kafka");
    const command = Array.isArray(oneShot.command) ? oneShot.command.join(" ") : String(oneShot.command);
    expect(command).toContain("--entity-name replicator");
    expect(command).toContain("SCRAM-SHA-512=[password=replicator-secret]");
  });
});
