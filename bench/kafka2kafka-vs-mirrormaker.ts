/**
 * kafka2kafka against Apache Kafka's MirrorMaker 2, in one run, on the two
 * clusters of the local stack (remote 127.0.0.1:9192 → local 127.0.0.1:9092).
 *
 * 1. Produces N messages of S bytes (default 500k × 1000 B) to a fresh source
 *    topic with 3 partitions, with Kafka's own ProducerPerformance.
 * 2. kafka2kafka --until-caught-up copies it to `k2k.<topic>`.
 * 3. MirrorMaker 2 (org.apache.kafka.connect.mirror.MirrorMaker, dedicated
 *    mode, from the jars in .stack/kafka/libs) copies it to `remote.<topic>`;
 *    it is stopped once the destination's end offsets add up to N.
 * For each: "copy" time runs from the first message on the destination to
 * the last (polled every 50 ms, start-up excluded), "wall" time from process
 * start to the last message (start-up included; for kafka2kafka, to its exit).
 * Prints both rates and the ratio; target kafka2kafka >= 1.0x MirrorMaker 2.
 *
 * With --offset-syncs (issue 18's bench): kafka2kafka runs twice, without
 * offset syncs (--offset-syncs-topic none) and with them plus --sync-groups
 * for a group that has committed half the topic, in alternating order over
 * --rounds; MirrorMaker 2 runs with emit.checkpoints.enabled=true and
 * sync.group.offsets.enabled=true for the same group, both at the same
 * --sync-interval. Prints what the syncs cost kafka2kafka's copy rate
 * (target at most 5%).
 *
 * Usage: bun bench/kafka2kafka-vs-mirrormaker.ts [--messages 500000] [--size 1000]
 *          [--batch-size N] [--mm2-tasks 1] [--keep]
 *          [--offset-syncs [--rounds 2] [--sync-interval 5]]
 * Needs the local stack (bun stack/stack.ts up). Stops MirrorMaker 2 and
 * deletes its topics at the end, also on Ctrl-C.
 */
import { Kafka, logLevel, type Admin } from "kafkajs";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { kafkaSection } from "../lib/config/kafka-section.ts";
import { loadConfigSource } from "../lib/config/source.ts";
import { KAFKA_LIBS } from "../stack/config.ts";

const ROOT = resolve(import.meta.dir, "..");
const CONFIG = resolve(ROOT, "config/local-stack.ini");
const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "500000" },
    size: { type: "string", default: "1000" },
    "batch-size": { type: "string" },
    "mm2-tasks": { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
    "offset-syncs": { type: "boolean", default: false },
    rounds: { type: "string", default: "2" },
    "sync-interval": { type: "string", default: "5" },
  },
});
const SYNCS = values["offset-syncs"];
const ROUNDS = SYNCS ? Number(values.rounds) : 1;
const SYNC_INTERVAL_S = Number(values["sync-interval"]);
const MESSAGES = Number(values.messages);
const SIZE = Number(values.size);
const PARTITIONS = 3;
const MM2_TASKS = Number(values["mm2-tasks"]);
const POLL_MS = 50;
const MM2_LIMIT_MS = 10 * 60_000;
const STOP_GRACE_MS = 20_000;

const config = loadConfigSource(CONFIG);
const REMOTE = kafkaSection(config, "remote_kafka").brokers;
const LOCAL = kafkaSection(config, "local_kafka").brokers;
const run = Date.now().toString(36);
const topic = `bench-k2k-${run}`;
const k2kTopic = `k2k.${topic}`;
const mm2Topic = `remote.${topic}`;
const MM2_GROUP = `mm2-bench-${run}`;
/** The application group whose offsets are synced (--offset-syncs): it has consumed half of each partition. */
const APP_GROUP = `bench-app-${run}`;
const copyTopics: string[] = [];
const copyGroups: string[] = [];
const MM2_INTERNAL_TOPICS = [
  ["config.storage.topic", `mm2-configs.bench-${run}.internal`],
  ["offset.storage.topic", `mm2-offsets.bench-${run}.internal`],
  ["status.storage.topic", `mm2-status.bench-${run}.internal`],
] as const;
const workDir = mkdtempSync(join(tmpdir(), "k2k-bench-"));
const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, "bin", "java") : "java";

const children = new Set<ReturnType<typeof Bun.spawn>>();
function killChildren(): void {
  for (const child of children) child.kill("SIGKILL");
}
process.on("SIGINT", () => {
  killChildren();
  process.exit(130);
});

const client = (brokers: string[]) => new Kafka({ clientId: "bench-k2k", brokers, logLevel: logLevel.NOTHING });
const remoteAdmin = client(REMOTE).admin();
const localAdmin = client(LOCAL).admin();

async function endOffsetTotal(admin: Admin, name: string): Promise<number> {
  if (!(await admin.listTopics()).includes(name)) return 0;
  return (await admin.fetchTopicOffsets(name)).reduce((sum, p) => sum + Number(p.high), 0);
}

interface Timing {
  /** ms from process start to the first message on the destination. */
  firstMs: number;
  /** ms from process start to all N on the destination. */
  lastMs: number;
}

/** Polls the destination until it holds `count` messages; rejects if `failed` settles first. */
async function watchDestination(name: string, count: number, startedAt: number, failed: Promise<unknown>, limitMs: number): Promise<Timing> {
  let firstMs: number | undefined;
  let failure: unknown;
  failed.then(
    (v) => (failure ??= new Error(`process ended (${String(v)}) before ${name} held ${count} messages`)),
    (e) => (failure ??= e),
  );
  let total = 0;
  for (;;) {
    if (failure) throw failure;
    // A topic being created may briefly have no leader; the next poll sees it.
    total = await endOffsetTotal(localAdmin, name).catch(() => total);
    const now = performance.now() - startedAt;
    if (total > 0 && firstMs === undefined) firstMs = now;
    if (total >= count) return { firstMs: firstMs ?? now, lastMs: now };
    if (now > limitMs) throw new Error(`${name} holds ${total} of ${count} messages after ${Math.round(now / 1000)} s`);
    await Bun.sleep(POLL_MS);
  }
}

async function produceSource(): Promise<void> {
  await remoteAdmin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const proc = Bun.spawn(
    [
      java,
      "-Xmx512m",
      "-Dlog4j.configuration=file:" + log4j("producer-perf.log"),
      "-cp",
      `${KAFKA_LIBS}/*`,
      "org.apache.kafka.tools.ProducerPerformance",
      "--topic",
      topic,
      "--num-records",
      String(MESSAGES),
      "--record-size",
      String(SIZE),
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${REMOTE.join(",")}`,
      "acks=all",
      "linger.ms=20",
      "batch.size=524288",
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  children.add(proc);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  children.delete(proc);
  if ((await proc.exited) !== 0) throw new Error(`ProducerPerformance failed:\n${out}\n${err}`);
  const produced = await endOffsetTotal(remoteAdmin, topic);
  if (produced !== MESSAGES) throw new Error(`the source holds ${produced} of ${MESSAGES} messages`);
}

async function runKafka2kafka(
  destination: string,
  extra: string[] = [],
): Promise<Timing & { exitMs: number; cpuUsPerMessage: number; summary: Record<string, unknown> }> {
  const group = `${destination}-k2k`;
  copyTopics.push(destination);
  copyGroups.push(group);
  const args = [
    process.execPath,
    "tools/kafka2kafka.ts",
    "--config",
    CONFIG,
    "--from",
    "remote_kafka",
    "--to",
    "local_kafka",
    "--topic",
    topic,
    "--dest-topic",
    destination,
    "--group",
    group,
    "--until-caught-up",
    "--log-interval",
    "100000",
    "--json",
    "--log-dir",
    "none",
    "--log-format",
    "json",
    ...(values["batch-size"] ? ["--batch-size", values["batch-size"]] : []),
    ...extra,
  ];
  const started = performance.now();
  const proc = Bun.spawn(args, { cwd: ROOT, stdout: "pipe", stderr: Bun.file(join(workDir, "kafka2kafka.log")) });
  children.add(proc);
  const stdout = new Response(proc.stdout).text();
  const timing = await watchDestination(destination, MESSAGES, started, proc.exited.then((code) => (code === 0 ? new Promise(() => {}) : code)), MM2_LIMIT_MS);
  const code = await proc.exited;
  const exitMs = performance.now() - started;
  children.delete(proc);
  if (code !== 0) throw new Error(`kafka2kafka exited ${code}; see ${join(workDir, "kafka2kafka.log")}`);
  // CPU time per message (start-up included) moves far less than rates on a shared machine.
  const cpuUsPerMessage = Number((Number(proc.resourceUsage()?.cpuTime.total ?? 0) / MESSAGES).toFixed(2));
  return { ...timing, exitMs, cpuUsPerMessage, summary: JSON.parse((await stdout).trim().split("\n").pop() ?? "{}") };
}

function log4j(file: string): string {
  const path = join(workDir, `log4j-${file}.properties`);
  writeFileSync(
    path,
    [
      "log4j.rootLogger=INFO, file",
      "log4j.appender.file=org.apache.log4j.FileAppender",
      `log4j.appender.file.File=${join(workDir, file)}`,
      "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
      "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
      "",
    ].join("\n"),
  );
  return path;
}

/**
 * MirrorMaker 2 in dedicated mode: remote → local only, just this topic, no
 * heartbeats; checkpoints and group offset syncs of APP_GROUP with --offset-syncs.
 */
function mm2Properties(): string {
  const path = join(workDir, "mm2.properties");
  writeFileSync(
    path,
    [
      "clusters = remote, local",
      `remote.bootstrap.servers = ${REMOTE.join(",")}`,
      `local.bootstrap.servers = ${LOCAL.join(",")}`,
      "remote->local.enabled = true",
      `remote->local.topics = ${topic.replace(/[.]/g, "\\.")}`,
      "local->remote.enabled = false",
      `tasks.max = ${MM2_TASKS}`,
      // Single-broker clusters: every topic MM2 creates has one replica.
      "replication.factor = 1",
      "checkpoints.topic.replication.factor = 1",
      "heartbeats.topic.replication.factor = 1",
      "offset-syncs.topic.replication.factor = 1",
      "offset.storage.replication.factor = 1",
      "status.storage.replication.factor = 1",
      "config.storage.replication.factor = 1",
      // Fresh Connect state per run (its worker runs on the target, "local"), so no earlier run's
      // configs, offsets or an auto-created internal topic can interfere.
      `local.group.id = ${MM2_GROUP}`,
      ...MM2_INTERNAL_TOPICS.map(([key, name]) => `local.${key} = ${name}`),
      "sync.topic.acls.enabled = false",
      ...(SYNCS
        ? [
            "emit.checkpoints.enabled = true",
            "sync.group.offsets.enabled = true",
            "refresh.groups.enabled = true",
            `groups = ${APP_GROUP}`,
            `emit.checkpoints.interval.seconds = ${SYNC_INTERVAL_S}`,
            `sync.group.offsets.interval.seconds = ${SYNC_INTERVAL_S}`,
            `refresh.groups.interval.seconds = ${SYNC_INTERVAL_S}`,
          ]
        : ["emit.checkpoints.enabled = false", "sync.group.offsets.enabled = false", "refresh.groups.enabled = false"]),
      "emit.heartbeats.enabled = false",
      "",
    ].join("\n"),
  );
  return path;
}

async function runMirrorMaker(): Promise<Timing> {
  const started = performance.now();
  const proc = Bun.spawn(
    [java, "-Xmx1g", `-Dlog4j.configuration=file:${log4j("mm2.log")}`, "-cp", `${KAFKA_LIBS}/*`, "org.apache.kafka.connect.mirror.MirrorMaker", mm2Properties()],
    { cwd: workDir, stdout: Bun.file(join(workDir, "mm2.out")), stderr: Bun.file(join(workDir, "mm2.err")) },
  );
  children.add(proc);
  try {
    return await watchDestination(mm2Topic, MESSAGES, started, proc.exited, MM2_LIMIT_MS);
  } finally {
    await stop(proc);
    children.delete(proc);
  }
}

async function stop(proc: ReturnType<typeof Bun.spawn>): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const stopped = await Promise.race([proc.exited.then(() => true), Bun.sleep(STOP_GRACE_MS).then(() => false)]);
  if (!stopped) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

function rate(ms: number): number {
  return Math.round((MESSAGES * 1000) / ms);
}


async function benchCopy(): Promise<void> {
  console.log(`kafka2kafka --until-caught-up -> local ${k2kTopic} ...`);
  const k2k = await runKafka2kafka(k2kTopic);
  console.log(`MirrorMaker 2 (tasks.max=${MM2_TASKS}) -> local ${mm2Topic} ...`);
  const mm2 = await runMirrorMaker();

  const k2kCopyMs = k2k.lastMs - k2k.firstMs;
  const mm2CopyMs = mm2.lastMs - mm2.firstMs;
  const result = {
    messages: MESSAGES,
    value_bytes: SIZE,
    partitions: PARTITIONS,
    mm2_tasks: MM2_TASKS,
    kafka2kafka_copy_msgs_per_sec: rate(k2kCopyMs),
    kafka2kafka_wall_msgs_per_sec: rate(k2k.exitMs),
    kafka2kafka_summary_msgs_per_sec: k2k.summary.messages_per_sec,
    kafka2kafka_startup_s: Number((k2k.firstMs / 1000).toFixed(2)),
    kafka2kafka_wall_s: Number((k2k.exitMs / 1000).toFixed(2)),
    mirrormaker2_copy_msgs_per_sec: rate(mm2CopyMs),
    mirrormaker2_wall_msgs_per_sec: rate(mm2.lastMs),
    mirrormaker2_startup_s: Number((mm2.firstMs / 1000).toFixed(2)),
    mirrormaker2_wall_s: Number((mm2.lastMs / 1000).toFixed(2)),
    ratio_copy: Number((mm2CopyMs / k2kCopyMs).toFixed(3)),
    ratio_wall: Number((mm2.lastMs / k2k.exitMs).toFixed(3)),
  };
  console.log(`
${MESSAGES} messages x ${SIZE} B, ${PARTITIONS} partitions, remote ${REMOTE.join(",")} -> local ${LOCAL.join(",")}
                       copy (first->last message, no start-up)   wall clock (process start -> done, with start-up)
${row("kafka2kafka", k2kCopyMs, k2k.firstMs, k2k.exitMs)}
${row(`MirrorMaker 2 (tasks=${MM2_TASKS})`, mm2CopyMs, mm2.firstMs, mm2.lastMs)}
kafka2kafka / MirrorMaker 2: ${result.ratio_copy}x copying, ${result.ratio_wall}x wall clock (target >= 1.0x)
(kafka2kafka's wall clock runs to its exit, after its commits and caught-up check; MirrorMaker 2's to its last copy)`);
  saveResult(result);
}

/** kafka2kafka without and with offset syncs (+ --sync-groups), alternating, and MirrorMaker 2 with checkpoints. */
async function benchOffsetSyncs(): Promise<void> {
  const without: number[] = [];
  const withSyncs: number[] = [];
  const cpu = { without: [] as number[], withSyncs: [] as number[] };
  let synced: unknown;
  for (let round = 0; round < ROUNDS; round++) {
    for (const syncs of round % 2 === 0 ? [false, true] : [true, false]) {
      const destination = `k2k-${syncs ? "syncs" : "plain"}-${round}.${topic}`;
      console.log(`round ${round + 1}: kafka2kafka ${syncs ? "with offset syncs and --sync-groups" : "--offset-syncs-topic none"} -> local ${destination} ...`);
      const extra = syncs ? ["--sync-groups", `^${APP_GROUP}$`, "--sync-interval", String(SYNC_INTERVAL_S)] : ["--offset-syncs-topic", "none"];
      const k2k = await runKafka2kafka(destination, extra);
      (syncs ? withSyncs : without).push(rate(k2k.lastMs - k2k.firstMs));
      (syncs ? cpu.withSyncs : cpu.without).push(k2k.cpuUsPerMessage);
      if (syncs) synced = k2k.summary.group_sync;
    }
  }
  console.log(`MirrorMaker 2 (tasks.max=${MM2_TASKS}, emit.checkpoints.enabled=true, sync.group.offsets.enabled=true) -> local ${mm2Topic} ...`);
  const mm2 = await runMirrorMaker();
  const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
  const cost = 1 - mean(withSyncs) / mean(without);
  const meanCpu = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cpuCost = meanCpu(cpu.withSyncs) / meanCpu(cpu.without) - 1;
  const result = {
    messages: MESSAGES,
    value_bytes: SIZE,
    partitions: PARTITIONS,
    rounds: ROUNDS,
    sync_interval_s: SYNC_INTERVAL_S,
    kafka2kafka_without_syncs_copy_msgs_per_sec: without,
    kafka2kafka_with_syncs_copy_msgs_per_sec: withSyncs,
    offset_syncs_cost: Number(cost.toFixed(4)),
    kafka2kafka_without_syncs_cpu_us_per_msg: cpu.without,
    kafka2kafka_with_syncs_cpu_us_per_msg: cpu.withSyncs,
    offset_syncs_cpu_cost: Number(cpuCost.toFixed(4)),
    mirrormaker2_checkpoints_copy_msgs_per_sec: rate(mm2.lastMs - mm2.firstMs),
    group_sync: synced,
  };
  console.log(`
${MESSAGES} messages x ${SIZE} B, ${PARTITIONS} partitions, ${ROUNDS} round(s), group sync every ${SYNC_INTERVAL_S} s
kafka2kafka without offset syncs       ${without.map((r) => `${r} msg/s`).join(", ")}  (mean ${mean(without)})
kafka2kafka with syncs + --sync-groups ${withSyncs.map((r) => `${r} msg/s`).join(", ")}  (mean ${mean(withSyncs)})
offset syncs cost ${(cost * 100).toFixed(1)}% of the copy rate (target at most 5%)
CPU per message: ${cpu.without.join(", ")} µs without syncs, ${cpu.withSyncs.join(", ")} µs with them (${(cpuCost * 100).toFixed(1)}% more)
MirrorMaker 2 with checkpoints         ${result.mirrormaker2_checkpoints_copy_msgs_per_sec} msg/s  (kafka2kafka with syncs: ${(mean(withSyncs) / result.mirrormaker2_checkpoints_copy_msgs_per_sec).toFixed(2)}x)`);
  saveResult(result);
}

function row(name: string, copyMs: number, firstMs: number, wallMs: number): string {
  return (
    `${name.padEnd(22)} ${String(rate(copyMs)).padStart(8)} msg/s ${(copyMs / 1000).toFixed(1).padStart(6)} s` +
    `   ${String(rate(wallMs)).padStart(8)} msg/s ${(wallMs / 1000).toFixed(1).padStart(6)} s  (first copy after ${(firstMs / 1000).toFixed(1)} s)`
  );
}

function saveResult(result: object): void {
  mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
  writeFileSync(resolve(ROOT, `bench/results/kafka2kafka-${SYNCS ? "offset-syncs-" : ""}${run}.json`), JSON.stringify(result, null, 2) + "\n");
}

let failed = false;
try {
  await Promise.all([remoteAdmin.connect(), localAdmin.connect()]).catch((error) => {
    throw new Error(`the local stack is not answering (bun stack/stack.ts up): ${(error as Error).message}`);
  });
  console.log(`producing ${MESSAGES} messages of ${SIZE} bytes to ${topic} (${PARTITIONS} partitions) on remote ...`);
  await produceSource();

  if (SYNCS) {
    const half = (await remoteAdmin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: String(Math.floor(Number(p.high) / 2)) }));
    await remoteAdmin.setOffsets({ groupId: APP_GROUP, topic, partitions: half });
    await benchOffsetSyncs();
  } else {
    await benchCopy();
  }
} catch (error) {
  failed = true;
  console.error(`bench failed: ${(error as Error).message}`);
  console.error(`logs kept in ${workDir}`);
  for (const file of ["kafka2kafka.log", "mm2.err"]) {
    try {
      console.error(`--- ${file} (tail)\n${readFileSync(join(workDir, file), "utf8").split("\n").slice(-15).join("\n")}`);
    } catch {}
  }
} finally {
  killChildren();
  if (!values.keep) {
    await remoteAdmin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
    await localAdmin.deleteTopics({ topics: [...copyTopics, mm2Topic, ...MM2_INTERNAL_TOPICS.map(([, name]) => name)] }).catch(() => {});
    await remoteAdmin.deleteGroups([...copyGroups, APP_GROUP]).catch(() => {});
    await localAdmin.deleteGroups([MM2_GROUP, APP_GROUP]).catch(() => {});
  }
  await Promise.all([remoteAdmin.disconnect(), localAdmin.disconnect()]).catch(() => {});
  if (!failed) rmSync(workDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
