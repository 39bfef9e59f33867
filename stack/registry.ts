/**
 * Apicurio Registry, Confluent-compatible API at /apis/ccompat/v7, storing its
 * schemas in an H2 file database under .stack/schema-registry/data. The app is
 * built from its Maven Central jars by install.ts (stack/registry/pom.xml).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { REGISTRY_APP, STACK_DIR, type Server } from "./config.ts";
import { java } from "./kafka.ts";

export const REGISTRY_API_PATH = "/apis/ccompat/v7";

/** GET /subjects through the Confluent-compatible API: proves HTTP, the API and the database answer. */
export async function probeRegistry(port: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${REGISTRY_API_PATH}/subjects`, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  if (!Array.isArray(await response.json())) throw new Error("unexpected /subjects answer");
}

export function schemaRegistryServer(port: number): Server {
  const dir = join(STACK_DIR, "schema-registry");
  const dataDir = join(dir, "data");
  return {
    name: "schema-registry",
    dir,
    logFile: join(dir, "schema-registry.log"),
    pidFile: join(dir, "schema-registry.pid"),
    ports: [port],
    // The database path is unique to this checkout, unlike the jar name.
    marker: `-Dquarkus.datasource.jdbc.url=jdbc:h2:file:${dataDir}/registry`,
    async prepare() {
      mkdirSync(dataDir, { recursive: true });
    },
    command: () => [
      java(),
      // A handful of schemas: a small heap, one GC thread and the C1 JIT start fastest on 2 cores.
      "-Xms64m",
      "-Xmx256m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Dquarkus.http.host=127.0.0.1",
      `-Dquarkus.http.port=${port}`,
      "-Dquarkus.datasource.db-kind=h2",
      `-Dquarkus.datasource.jdbc.url=jdbc:h2:file:${dataDir}/registry`,
      "-Dquarkus.datasource.username=sa",
      "-Dquarkus.datasource.password=sa",
      "-Dquarkus.datasource.jdbc.min-size=1",
      "-Dquarkus.datasource.jdbc.max-size=8",
      "-Dregistry.sql.init=true",
      "-jar",
      join(REGISTRY_APP, "schema-registry-1-runner.jar"),
    ],
    probe: () => probeRegistry(port),
  };
}
