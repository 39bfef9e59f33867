/**
 * Fixtures for integration tests against the local stack (config/local-stack.ini):
 * real Kafka and FerretDB clients, unique names, bulk produce and full reads,
 * and tool processes that can be signalled mid-run.
 *
 * @example
 * const topic = uniqueName("logins");
 * await createTopic(topic, 3);
 * await produceJson(topic, 10_000);
 * const tool = startTool("tools/kafka2mongo.ts", ["--topic", topic, "--until-caught-up"]);
 * expect(await tool.exited).toBe(0);
 */
import { Kafka, Partitioners, logLevel, type Admin, type IHeaders, type KafkaMessage, type Message } from "kafkajs";
import { MongoClient } from "mongodb";
import { appendFileSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { kafkaSection } from "../../lib/config/kafka-section.ts";
import { mongoSection } from "../../lib/config/mongo-section.ts";
import { loadConfigSource } from "../../lib/config/source.ts";
import { registerCodecs } from "../../lib/kafka/codecs.ts";
import { isRunning } from "../../stack/proc.ts";
import { BUN, REPO_ROOT, runTool } from "./run-tool.ts";

export const ROOT = REPO_ROOT;
export const STACK_CONFIG = resolve(ROOT, "config/local-stack.ini");
/** Flags every tool run in the tests gets: the stack's config, JSON logs, no log file. */
const STACK_FLAGS = ["--config", STACK_CONFIG, "--log-dir", "none", "--log-format", "json"];

const source = loadConfigSource(STACK_CONFIG);
export const localKafka = kafkaSection(source, "local_kafka");
export const mongoConfig = mongoSection(source, "mongodb");

let counter = 0;
/** A name no earlier run used: tests share one long-lived stack. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${process.pid}-${counter++}`;
}

export function kafkaClient(brokers = localKafka.brokers): Kafka {
  registerCodecs();
  return new Kafka({ clientId: "tests", brokers, logLevel: logLevel.NOTHING });
}

export async function withAdmin<T>(brokers: string[] | undefined, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(
  topic: string,
  partitions: number,
  brokers?: string[],
  configEntries: { name: string; value: string }[] = [],
): Promise<void> {
  await withAdmin(brokers, async (admin) => {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries }], waitForLeaders: true });
    await waitForTopicMetadata(admin, topic);
  });
}

/**
 * Waits until the broker serves a topic's metadata with a leader for every
 * partition. A freshly started KRaft broker (as in CI) can answer
 * UNKNOWN_TOPIC_OR_PARTITION for a moment after createTopics returned.
 */
export async function waitForTopicMetadata(admin: Admin, topic: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      if (topics[0]?.partitions.every((p) => p.leader >= 0)) return;
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || attempt >= 100) throw error;
    }
    await Bun.sleep(100);
  }
}

/** Produces raw messages in large batches, acknowledged by all replicas. */
export async function produce(topic: string, messages: Message[], brokers?: string[]): Promise<void> {
  const producer = kafkaClient(brokers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 2000) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 2000) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** `count` JSON messages `{seq, user_id, pad}` keyed by seq, spread over partitions by key. */
export async function produceJson(topic: string, count: number, firstSeq = 0): Promise<void> {
  const messages = Array.from({ length: count }, (_, i) => {
    const seq = firstSeq + i;
    return { key: `user-${seq}`, value: JSON.stringify({ seq, user_id: String(seq), pad: "x".repeat(200) }) };
  });
  await produce(topic, messages);
}

export type ReadMessage = KafkaMessage & { partition: number };

/** Reads a topic from the beginning to its current end. */
export async function readAll(topic: string, brokers?: string[]): Promise<ReadMessage[]> {
  const kafka = kafkaClient(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  const groupId = uniqueName("reader");
  const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  const out: ReadMessage[] = [];
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((done) => {
    if (remaining.size === 0) return done();
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.push({ ...message, partition });
        if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) remaining.delete(partition);
        if (remaining.size === 0) done();
      },
    });
  });
  await consumer.disconnect();
  await admin.deleteGroups([groupId]).catch(() => {});
  await admin.disconnect();
  return out;
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return value === undefined ? undefined : String(Array.isArray(value) ? value[0] : value);
}

export async function withMongo<T>(fn: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(mongoConfig.uri, { serverSelectionTimeoutMS: 20_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export interface ToolProcess {
  proc: ReturnType<typeof Bun.spawn>;
  exited: Promise<number>;
  stdout: Promise<string>;
  stderr: Promise<string>;
  /** What the tool has written to stderr so far. */
  stderrSoFar(): string;
}

/** Starts a tool with the local stack's config and no log file. */
export function startTool(tool: string, args: string[], env: Record<string, string> = {}): ToolProcess {
  const proc = Bun.spawn([BUN, resolve(ROOT, tool), ...STACK_FLAGS, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let stderrText = "";
  const stderr = (async () => {
    const decoder = new TextDecoder();
    for await (const bytes of proc.stderr as ReadableStream<Uint8Array>) stderrText += decoder.decode(bytes, { stream: true });
    return stderrText;
  })();
  return {
    proc,
    exited: proc.exited,
    stdout: new Response(proc.stdout as ReadableStream).text(),
    stderr,
    stderrSoFar: () => stderrText,
  };
}

/** Committed messages in the last progress line a tool logged (JSON log format). */
export function progressSoFar(tool: ToolProcess): number {
  const lines = tool.stderrSoFar().split("\n").filter((l) => l.includes('"msg":"progress"'));
  const last = lines[lines.length - 1];
  return last ? Number(JSON.parse(last).messages) : 0;
}

/** Runs a tool to completion with the stack's config. */
export function runToolToEnd(tool: string, args: string[], env?: Record<string, string>) {
  return runTool(tool, [...STACK_FLAGS, ...args], { env });
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The steps of a fault test, each awaited within its own budget, so a failure
 * says which step did not finish and how long the earlier ones took. With
 * KT_TEST_STEP_LOG=FILE each finished test appends its step times there as one
 * JSON line: the measurements the budgets are sized from.
 *
 * @example
 * const steps = new Steps("FerretDB restart");
 * await steps.run("restart", 90_000, restartFerretdb(), () => restartOutput());
 * steps.done();
 */
export class Steps {
  private readonly started = performance.now();
  private readonly times: Record<string, number> = {};

  constructor(readonly test: string) {}

  /** Awaits work; after budgetMs it fails naming the step, with details() appended. */
  async run<T>(step: string, budgetMs: number, work: Promise<T>, details?: () => string): Promise<T> {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const extra = details?.().trim();
        reject(new Error(`step "${step}" did not finish within ${budgetMs / 1000} s (earlier steps: ${this.summary()})${extra ? `\n${extra}` : ""}`));
      }, budgetMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      this.times[step] = Math.round(performance.now() - started);
    }
  }

  /** Polls check every 100 ms until it holds, within budgetMs. */
  until(step: string, budgetMs: number, check: () => boolean | Promise<boolean>, details?: () => string): Promise<void> {
    const stop = { done: false };
    const polling = (async () => {
      while (!stop.done && !(await check())) await Bun.sleep(100);
    })();
    return this.run(step, budgetMs, polling, details).finally(() => {
      stop.done = true;
    });
  }

  summary(): string {
    const parts = Object.entries(this.times).map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`);
    return parts.length ? parts.join(", ") : "none";
  }

  /** Records the step times (KT_TEST_STEP_LOG); call when the test passed. */
  done(): void {
    const file = process.env.KT_TEST_STEP_LOG;
    if (!file) return;
    const total = Math.round(performance.now() - this.started);
    appendFileSync(file, `${JSON.stringify({ test: this.test, total_ms: total, steps_ms: this.times })}\n`);
  }
}

/** The last lines of a tool's stderr so far, for a failure message. */
export function stderrTail(tool: ToolProcess, lines = 15): string {
  return `last ${lines} lines of the tool's stderr:\n${tool.stderrSoFar().trimEnd().split("\n").slice(-lines).join("\n")}`;
}

/** Servers of the stack a fault test stops, and their pid files under .stack/. */
const PID_FILES = {
  ferretdb: "ferretdb/ferretdb.pid",
  postgres: "postgres/postgres.pid",
  "local-kafka": "local-kafka/server.pid",
  "remote-kafka": "remote-kafka/server.pid",
} as const;
export type StackServer = keyof typeof PID_FILES;

/** Pid of one server of the stack, from its pid file. */
export function serverPid(server: StackServer): number {
  return Number(readFileSync(resolve(ROOT, ".stack", PID_FILES[server]), "utf8"));
}

/**
 * Stops one server of the stack and resolves once its process is gone:
 * SIGKILL is a crash, SIGTERM (SIGINT for PostgreSQL) an operator's stop.
 * `runStack("up")` starts it again.
 */
export async function stopServer(server: StackServer, signal: NodeJS.Signals): Promise<void> {
  const pid = serverPid(server);
  process.kill(pid, signal);
  while (isRunning(pid)) await Bun.sleep(100);
}

/** Per partition of a topic: its end offset and the group's committed offset (-1 when none). */
export async function groupPosition(groupId: string, topic: string, brokers?: string[]): Promise<{ partition: number; end: string; committed: string }[]> {
  return withAdmin(brokers, async (admin) => {
    const ends = await admin.fetchTopicOffsets(topic);
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = new Map((offsets?.partitions ?? []).map((p) => [p.partition, p.offset]));
    return ends.map((e) => ({ partition: e.partition, end: e.high, committed: committed.get(e.partition) ?? "-1" })).sort((a, b) => a.partition - b.partition);
  });
}

/**
 * `partition:offset` of every document in a collection kafka2mongo wrote, in
 * one projected read (FerretDB's SQLite backend runs $group in its own
 * process over every document, far slower than this).
 */
export async function documentOffsets(db: string, collection: string): Promise<string[]> {
  const documents = await withMongo((client) =>
    client.db(db).collection(collection).find({}, { projection: { _id: 0, _kafka_partition: 1, _kafka_offset: 1 } }).toArray(),
  );
  return documents.map((d) => `${d._kafka_partition}:${d._kafka_offset}`);
}

/** Runs `bun stack/stack.ts <command>` to its end; its output is kept for a failure message. */
export function runStack(command: string): { exited: Promise<number>; output: () => string } {
  const proc = Bun.spawn([BUN, "stack/stack.ts", command], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  let text = "";
  const read = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const bytes of stream) text += decoder.decode(bytes, { stream: true });
  };
  const exited = Promise.all([read(proc.stdout), read(proc.stderr)]).then(() => proc.exited);
  return { exited, output: () => `stack ${command} printed:\n${text.trimEnd()}` };
}
