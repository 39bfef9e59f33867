/**
 * mongo-health: is a MongoDB (or FerretDB) server up, how fast does it
 * answer, and what does the database hold. See --help.
 */
import { defineTool } from "../lib/cli/flags.ts";
import { runTool } from "../lib/cli/run.ts";
import { mongoSection } from "../lib/config/mongo-section.ts";
import { checkMongoHealth, formatMongoHealth } from "../lib/inspect/mongo-health.ts";
import { formatInventory, takeInventory } from "../lib/inspect/mongo-inventory.ts";
import { sleep } from "../lib/backoff.ts";
import { UsageError } from "../lib/errors.ts";
import { startToolMetrics } from "../lib/metrics/tool-metrics.ts";

const spec = defineTool({
  name: "mongo-health",
  summary: "Check a MongoDB server: ping latency, version, replica set; list a database's collections.",
  description: [
    "Health: reachable, ping latency, server version (buildInfo), replica-set state and members",
    "(standalone on FerretDB or a single server), and whether a majority write can be acknowledged.",
    "Only health decides the verdict: exit 0 when healthy, 1 when unreachable or unhealthy within",
    "--timeout. Then the inventory of --db: collections with counts, sizes and indexes, largest",
    "measured first, bounded by --max-collections and its own --inventory-timeout; what was not",
    "measured in time is said so, and never makes a healthy server unhealthy. With --watch the check",
    "repeats until Ctrl-C and the exit code is that of the last check; with --json each check is",
    "one JSON document on its own line.",
  ],
  options: {
    mongo: { type: "string", value: "SECTION", description: "MongoDB section of the config", defaultText: "mongodb" },
    db: { type: "string", value: "D", description: "Database whose collections to list", defaultText: "[section] default_database" },
    timeout: { type: "string", value: "SECONDS", description: "Longest the health check may take", defaultText: "5" },
    "inventory-timeout": { type: "string", value: "SECONDS", description: "Longest the inventory may take", defaultText: "5" },
    "max-collections": { type: "string", value: "N", description: "List at most N collections; 0 for no inventory", defaultText: "50" },
    collections: { type: "string", value: "NAME,...", description: "List only these collections" },
    watch: { type: "string", value: "SECONDS", description: "Repeat the check every SECONDS until Ctrl-C" },
    json: { type: "boolean", description: "Print the result as JSON on stdout" },
    serve: {
      type: "string",
      value: "ADDR",
      description: "Serve Prometheus metrics on ADDR (:9216, 127.0.0.1:9216): up, ping, connections, operations, collection counts and sizes",
    },
    interval: { type: "string", value: "SECONDS", description: "With --serve: seconds between checks", defaultText: "15" },
  },
  examples: [
    "bun tools/mongo-health.ts --config config/local-stack.ini",
    "bun tools/mongo-health.ts --mongo archive_mongo --db events --json",
    "bun tools/mongo-health.ts --db events --collections logins,orders --inventory-timeout 30",
    "bun tools/mongo-health.ts --watch 10 --timeout 2 --max-collections 0   # probe: health only",
    "bun tools/mongo-health.ts --db toolkit --serve :9216 --interval 30   # Prometheus exporter",
  ],
});

await runTool(spec, async (flags, ctx) => {
  const timeoutMs = flags.number("timeout", 5, { min: 0.1 }) * 1000;
  const inventoryBudgetMs = flags.number("inventory-timeout", 5, { min: 0.1 }) * 1000;
  const maxCollections = flags.int("max-collections", 50, { min: 0 });
  const names = flags.list("collections").flatMap((v) => v.split(",")).map((n) => n.trim()).filter(Boolean);
  const watchMs = flags.has("watch") ? flags.number("watch", 0, { min: 0.1 }) * 1000 : undefined;
  // Loaded after the flags are parsed: the drivers take longer to load than --help to answer.
  const { createMongoClient, describeMongo } = await import("../lib/mongo/client.ts");
  const section = mongoSection(ctx.config(), flags.string("mongo", "mongodb"));
  const database = flags.string("db") ?? section.defaultDatabase;
  const target = describeMongo(section);

  // The driver gives up a little before the check's own deadline, so its
  // more precise error (connection refused, auth failed) is what is reported.
  const client = createMongoClient(section, { timeoutMs: timeoutMs * 0.8, appName: "mongo-health" });
  if (flags.has("serve")) {
    if (watchMs !== undefined || flags.bool("json")) throw new UsageError("--serve repeats by itself (--interval); it takes no --watch or --json");
    const intervalMs = flags.number("interval", 15, { min: 0.1 }) * 1000;
    const metrics = await startToolMetrics({ address: flags.string("serve"), tool: spec.name, log: ctx.log, flag: "--serve" });
    const { mongoExporter } = await import("../lib/metrics/mongo-exporter.ts");
    const exporter = mongoExporter(metrics.registry!, { target });
    try {
      while (!ctx.signal.aborted) {
        const failure = await exporter.refresh(client, { database, timeoutMs });
        if (failure) ctx.log.warn("check failed", { target, error: failure.message });
        await sleep(intervalMs, ctx.signal);
      }
    } finally {
      await metrics.close();
      await Promise.race([client.close().catch(() => undefined), sleep(1000)]);
    }
    return 0;
  }
  let healthy = false;
  try {
    do {
      const health = await checkMongoHealth(client, { timeoutMs });
      healthy = health.healthy;
      const wantInventory = health.reachable && database !== undefined && (maxCollections > 0 || names.length > 0);
      const inventory = wantInventory
        ? await takeInventory(client.db(database), { limit: maxCollections, names, budgetMs: inventoryBudgetMs })
        : undefined;
      const report = flags.bool("json")
        ? JSON.stringify({ target, ...health, ...(inventory ? { inventory } : {}) })
        : [formatMongoHealth(health, target), ...(inventory ? formatInventory(inventory) : [])].join("\n");
      process.stdout.write(report + "\n");
      const fields = { target, ping_ms: health.ping_ms, problems: health.problems, inventory_complete: inventory?.complete };
      if (healthy) ctx.log.info("healthy", fields);
      else ctx.log.error("unhealthy", fields);
      if (watchMs !== undefined) await sleep(watchMs, ctx.signal);
    } while (watchMs !== undefined && !ctx.signal.aborted);
  } finally {
    // A close stuck on an unreachable server must not hold the exit.
    await Promise.race([client.close().catch(() => undefined), sleep(1000)]);
  }
  return healthy ? 0 : 1;
});
