/**
 * A Kafka consumer group as a pipeline {@link Source}: resolves topics,
 * optionally resets the group to the start, hands the engine batches of
 * {@link SourceRecord}s, commits, and measures lag against the broker's view
 * of the group. kafkajs stays behind this file; the engine sees only Source.
 *
 * Reads with isolation read_committed, so aborted transactions never reach a
 * pipeline.
 *
 * A replay window (`window`): the group is first reset to each partition's
 * first offset at or after `fromTime`; records at or after each partition's
 * first offset at or after `toTime` are not handed out, nothing past that
 * offset is committed, and lag counts to it, so --until-caught-up ends there
 * (see lib/kafka/replay-window.ts).
 *
 * @example
 * const source = await openKafkaSource({ kafka, groupId: "g", topics: ["logins"], resetToEarliest: false, log });
 * await source.commit({ topic: "logins", partition: 0, offset: "1234" }); // next offset to read
 * const lag = await source.lag();
 */
import type { Admin, Consumer, Kafka, KafkaMessage } from "kafkajs";
import type { SourceRecord } from "../engine/record.ts";
import type { Assignment, BatchHandler, PartitionLagEntry, Source } from "../engine/source.ts";
import { topicLag, type TopicLag } from "../kafka/lag.ts";
import { fetchPartitionBounds } from "../kafka/positions.ts";
import { WindowEnds, type ReplayWindow } from "../kafka/replay-window.ts";
import type { Logger } from "../log/logger.ts";

export interface KafkaSourceOptions {
  kafka: Kafka;
  groupId: string;
  /** Topic names, or a pattern matched against the cluster's topics at start. */
  topics: string[] | RegExp;
  /** Move the group's committed offsets to the earliest before consuming. */
  resetToEarliest: boolean;
  log: Logger;
  /** Longest the broker holds an empty fetch; small values end caught-up runs sooner. */
  maxWaitMs?: number;
  /** How long a silent member keeps its partitions (the broker allows 6 s and up); 30 s by default. */
  sessionTimeoutMs?: number;
  /** Names the source in logs, e.g. "kafka [local_kafka]". */
  name?: string;
  /** Replay only this time window; see above. */
  window?: ReplayWindow;
}

export class TopicNotFoundError extends Error {
  override name = "TopicNotFoundError";
}

export async function openKafkaSource(options: KafkaSourceOptions): Promise<Source> {
  const { kafka, groupId, log } = options;
  const admin = kafka.admin();
  await admin.connect();
  let consumer: Consumer | undefined;
  try {
    const topics = await resolveTopics(admin, options.topics);
    if (options.resetToEarliest && options.window?.fromTime !== undefined) throw new Error("reset to the earliest or to a time, not both");
    if (options.resetToEarliest) await resetGroup(admin, groupId, topics, log);
    if (options.window?.fromTime !== undefined) await resetGroup(admin, groupId, topics, log, options.window.fromTime);
    const window = new WindowEnds(options.window?.toTime === undefined ? new Map() : await windowEnds(admin, topics, options.window.toTime, log));

    consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: options.maxWaitMs ?? 1000,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
    });
    const connected = consumer;
    let assigned: Assignment | undefined;
    let epoch = 0;
    const assignmentListeners: ((assignment: Assignment) => void)[] = [];
    consumer.on(consumer.events.REBALANCING, () => {
      epoch++;
      assigned = undefined;
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      epoch++;
      assigned = event.payload.memberAssignment;
      log.info("joined group", { group: groupId, assignment: describeAssignment(assigned) });
      for (const listener of assignmentListeners) listener(assigned);
    });
    // Every fetched batch, also one of only transaction markers or aborted records.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (!window.fetched(payload.topic, payload.partition, payload.lastOffset)) return;
      log.info("reached the end of the replay window", { topic: payload.topic, partition: payload.partition });
      connected.pause([{ topic: payload.topic, partitions: [payload.partition] }]);
    });
    await consumer.connect();
    // A group with no committed offset starts at the earliest, as Kafka
    // Connect sinks and MirrorMaker 2 do, so a first run never skips data.
    await consumer.subscribe({ topics, fromBeginning: true });

    const partitionLag = async (onlyAssigned = false): Promise<PartitionLagEntry[]> => {
      const lags: PartitionLagEntry[] = [];
      for (const topic of await groupLag(admin, groupId, topics)) {
        for (const p of topic.partitions) {
          if (!onlyAssigned || !assigned || assigned[topic.topic]?.includes(p.partition)) {
            // In a replay window the lag counts to the window's end.
            lags.push({ topic: topic.topic, partition: p.partition, lag: window.lag(topic.topic, p.partition, p.committed ?? p.earliest, p.lag) });
          }
        }
      }
      return lags;
    };

    return {
      name: options.name ?? "kafka",
      groupId,
      topics,
      assignment: () => assigned,
      epoch: () => epoch,
      async run(handler: BatchHandler) {
        // kafkajs skips eachBatch for a fetch holding only transaction markers
        // or aborted records; an empty batch lets the engine commit past them.
        connected.on(connected.events.START_BATCH_PROCESS, ({ payload }) => {
          if (payload.batchSize > 0) return;
          void handler({
            topic: payload.topic,
            partition: payload.partition,
            records: [],
            nextOffset: window.clampNext(payload.topic, payload.partition, nextAfter(payload.lastOffset)),
            epoch,
            heartbeat: async () => {},
            isActive: () => true,
          });
        });
        await connected.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            const records = batch.messages
              .filter((m) => window.contains(batch.topic, batch.partition, m.offset))
              .map((m) => toSourceRecord(batch.topic, batch.partition, m));
            if (records.length === 0 && batch.messages.length > 0) return;
            const taken = await handler({
              topic: batch.topic,
              partition: batch.partition,
              records,
              nextOffset: window.clampNext(batch.topic, batch.partition, nextAfter(batch.lastOffset())),
              epoch,
              heartbeat,
              isActive: () => isRunning() && !isStale(),
            });
            // The consumer's fetch position: what was not taken is fetched again.
            if (taken > 0) resolveOffset(records[taken - 1]!.offset);
          },
        });
      },
      async commit({ topic, partition, offset, metadata }) {
        await connected.commitOffsets([{ topic, partition, offset, metadata: metadata ?? null }]);
      },
      async committedOffset(topic, partition) {
        const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const found = fetched?.partitions.find((p) => p.partition === partition);
        if (found === undefined || found.offset === "-1") return undefined;
        return { offset: found.offset, metadata: found.metadata ?? "" };
      },
      async lag(onlyAssigned = false) {
        return (await partitionLag(onlyAssigned)).reduce((total, p) => total + p.lag, 0);
      },
      partitionLag,
      onCrash(listener) {
        connected.on(connected.events.CRASH, (event) => {
          if (!event.payload.restart) listener(event.payload.error);
        });
      },
      onAssignment(listener) {
        assignmentListeners.push(listener);
      },
      pause: (topic, partition) => connected.pause([{ topic, partitions: [partition] }]),
      resume: (topic, partition) => connected.resume([{ topic, partitions: [partition] }]),
      // kafkajs applies it before the partition's next fetch and drops batches fetched before it (isStale).
      seek: (topic, partition, offset) => connected.seek({ topic, partition, offset }),
      stop: () => connected.stop(),
      async close() {
        try {
          await connected.disconnect();
        } finally {
          await admin.disconnect();
        }
      },
    };
  } catch (error) {
    await consumer?.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    throw error;
  }
}

function nextAfter(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

function toSourceRecord(topic: string, partition: number, message: KafkaMessage): SourceRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: message.headers ?? {},
    headerList: message.headerList ?? [],
    timestamp: message.timestamp,
    size: (message.key?.length ?? 0) + (message.value?.length ?? 0),
  };
}

async function resolveTopics(admin: Admin, wanted: string[] | RegExp): Promise<string[]> {
  const existing = await admin.listTopics();
  if (wanted instanceof RegExp) {
    const matched = existing.filter((t) => !t.startsWith("__") && wanted.test(t)).sort();
    if (matched.length === 0) throw new TopicNotFoundError(`no topic matches /${wanted.source}/`);
    return matched;
  }
  const missing = wanted.filter((t) => !existing.includes(t));
  if (missing.length) throw new TopicNotFoundError(`topic ${missing.map((t) => `'${t}'`).join(", ")} does not exist`);
  return wanted;
}

/** Moves the group to the earliest offsets, or to the first at or after `time` (ms), of every partition. */
async function resetGroup(admin: Admin, groupId: string, topics: string[], log: Logger, time?: number): Promise<void> {
  const groups = await admin.describeGroups([groupId]);
  const members = groups.groups[0]?.members.length ?? 0;
  const where = time === undefined ? "the earliest offsets" : `the offsets at ${new Date(time).toISOString()}`;
  if (members > 0) {
    throw new Error(`cannot reset group '${groupId}' to ${where}: it has ${members} active member(s)`);
  }
  for (const topic of topics) {
    if (time === undefined) await admin.resetOffsets({ groupId, topic, earliest: true });
    else {
      const bounds = await fetchPartitionBounds(admin, topic, { fromTime: time });
      await admin.setOffsets({ groupId, topic, partitions: bounds.map((b) => ({ partition: b.partition, offset: String(b.atFromTime!) })) });
    }
  }
  log.info(`reset group to ${where}`, { group: groupId, topics });
}

/** Each partition's first offset at or after `time` (its end offset when none is that late). */
async function windowEnds(admin: Admin, topics: string[], time: number, log: Logger): Promise<Map<string, bigint>> {
  const ends = new Map<string, bigint>();
  for (const topic of topics) {
    for (const b of await fetchPartitionBounds(admin, topic, { toTime: time })) ends.set(`${topic}/${b.partition}`, b.atToTime!);
  }
  log.info("replay window ends", { at: new Date(time).toISOString(), ends: [...ends].map(([p, o]) => `${p}@${o}`).join(" ") });
  return ends;
}

async function groupLag(admin: Admin, groupId: string, topics: string[]): Promise<TopicLag[]> {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics }),
    Promise.all(topics.map((topic) => admin.fetchTopicOffsets(topic))),
  ]);
  return topics.map((topic, i) => topicLag(topic, committed.find((c) => c.topic === topic)?.partitions ?? [], ends[i] ?? []));
}

function describeAssignment(assignment: Assignment): string {
  const parts = Object.entries(assignment).map(([topic, partitions]) => `${topic}[${partitions.join(",")}]`);
  return parts.length ? parts.join(" ") : "none";
}
