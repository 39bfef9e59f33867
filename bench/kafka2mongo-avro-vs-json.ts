/**
 * kafka2mongo on Avro against kafka2mongo on JSON, for the same user-login
 * records, in one run on the local stack (with its Schema Registry).
 *
 * 1. produce-test-data writes N user-login events (same --seed) as JSON to one
 *    fresh topic and as Confluent-framed Avro (schema registered) to another.
 * 2. kafka2mongo --until-caught-up lands each topic into a fresh collection,
 *    alternating JSON and Avro over --rounds rounds (FerretDB slows as its files
 *    grow, so neither format always goes last); each rate is the mean.
 * Prints both rates and the ratio Avro / JSON (target: 1.0x or better).
 *
 * Usage: bun bench/kafka2mongo-avro-vs-json.ts [--messages 50000] [--rounds 2]
 * Needs the local stack (npm run stack:up).
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;
const { values } = parseArgs({ options: { messages: { type: "string", default: "50000" }, rounds: { type: "string", default: "2" } } });
const messages = Number(values.messages);
const rounds = Number(values.rounds);
const CONFIG = ["--config", resolve(ROOT, "config/local-stack.ini"), "--log-dir", "none", "--log-format", "json"];

async function tool(file: string, args: string[]): Promise<Record<string, number>> {
  const proc = Bun.spawn([BUN, resolve(ROOT, file), ...CONFIG, ...args, "--json"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`${file} ${args.join(" ")} failed:\n${err.slice(-2000)}`);
  return JSON.parse(out.trim().split("\n").pop()!);
}

const run = `bench-avro-${Date.now().toString(36)}`;
const topics = { json: `${run}-json`, avro: `${run}-avro` };
console.log(`producing ${messages} user-login events as JSON and as Avro (load average ${loadavg()[0]!.toFixed(2)})`);
await tool("tools/produce-test-data.ts", ["--topic", topics.json, "--count", String(messages), "--seed", "1"]);
await tool("tools/produce-test-data.ts", ["--topic", topics.avro, "--format", "avro", "--count", String(messages), "--seed", "1"]);

const rates: Record<"json" | "avro", number[]> = { json: [], avro: [] };
for (let round = 0; round < rounds; round++) {
  const order: ("json" | "avro")[] = round % 2 === 0 ? ["json", "avro"] : ["avro", "json"];
  for (const format of order) {
    const summary = await tool("tools/kafka2mongo.ts", [
      "--topic", topics[format], "--group", `${run}-${format}-${round}`, "--db", "bench", "--collection", `${run}-${format}-${round}`,
      "--until-caught-up", ...(format === "avro" ? ["--value-format", "avro"] : []),
    ]);
    if (summary.inserted !== messages) throw new Error(`${format}: inserted ${summary.inserted} of ${messages}`);
    rates[format].push(summary.messages_per_sec!);
    console.log(`round ${round + 1} ${format.padEnd(4)} ${summary.messages_per_sec} msg/s`);
  }
}
const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
const json = mean(rates.json);
const avro = mean(rates.avro);
console.log(`kafka2mongo JSON ${json} msg/s, Avro ${avro} msg/s: Avro/JSON ${(avro / json).toFixed(2)}x (load average ${loadavg()[0]!.toFixed(2)})`);
