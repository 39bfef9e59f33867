/**
 * The input side of a pipeline: a kafkajs consumer in a group, plus what the
 * engine needs around it: resolving topics, resetting a group to the start,
 * knowing which partitions this member owns, committing, and measuring lag
 * against the broker's view of the group.
 *
 * @example
 * const source = await openKafkaSource({ kafka, groupId: "g", topics: ["logins"], resetToEarliest: false, log });
 * await source.commit("logins", 0, "1234"); // next offset to read
 * const lag = await source.lag();
 */
import type { Admin, Consumer, Kafka } from "kafkajs";
import { topicLag, type TopicLag } from "../kafka/lag.ts";
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
}

export interface KafkaSource {
  readonly consumer: Consumer;
  readonly groupId: string;
  readonly topics: string[];
  /** Partitions this member owns, by topic; undefined until the group is joined. */
  assignment(): Record<string, number[]> | undefined;
  commit(topic: string, partition: number, nextOffset: string): Promise<void>;
  /** Total lag from the broker's committed and end offsets, of this member's partitions or of all. */
  lag(onlyAssigned?: boolean): Promise<number>;
  close(): Promise<void>;
}

export class TopicNotFoundError extends Error {
  override name = "TopicNotFoundError";
}

export async function openKafkaSource(options: KafkaSourceOptions): Promise<KafkaSource> {
  const { kafka, groupId, log } = options;
  const admin = kafka.admin();
  await admin.connect();
  let consumer: Consumer | undefined;
  try {
    const topics = await resolveTopics(admin, options.topics);
    if (options.resetToEarliest) await resetGroup(admin, groupId, topics, log);

    consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: options.maxWaitMs ?? 1000,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
    });
    let assigned: Record<string, number[]> | undefined;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      assigned = event.payload.memberAssignment;
      log.info("joined group", { group: groupId, assignment: describeAssignment(assigned) });
    });
    await consumer.connect();
    // A group with no committed offset starts at the earliest, as Kafka
    // Connect sinks and MirrorMaker 2 do, so a first run never skips data.
    await consumer.subscribe({ topics, fromBeginning: true });
    const connected = consumer;

    return {
      consumer: connected,
      groupId,
      topics,
      assignment: () => assigned,
      async commit(topic, partition, nextOffset) {
        await connected.commitOffsets([{ topic, partition, offset: nextOffset }]);
      },
      async lag(onlyAssigned = false) {
        let total = 0;
        for (const topic of await groupLag(admin, groupId, topics)) {
          for (const p of topic.partitions) {
            if (!onlyAssigned || !assigned || assigned[topic.topic]?.includes(p.partition)) total += p.lag;
          }
        }
        return total;
      },
      async close() {
        await connected.disconnect();
        await admin.disconnect();
      },
    };
  } catch (error) {
    await consumer?.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    throw error;
  }
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

async function resetGroup(admin: Admin, groupId: string, topics: string[], log: Logger): Promise<void> {
  const groups = await admin.describeGroups([groupId]);
  const members = groups.groups[0]?.members.length ?? 0;
  if (members > 0) {
    throw new Error(`cannot reset group '${groupId}' to the earliest offsets: it has ${members} active member(s)`);
  }
  for (const topic of topics) await admin.resetOffsets({ groupId, topic, earliest: true });
  log.info("reset group to earliest offsets", { group: groupId, topics });
}

async function groupLag(admin: Admin, groupId: string, topics: string[]): Promise<TopicLag[]> {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics }),
    Promise.all(topics.map((topic) => admin.fetchTopicOffsets(topic))),
  ]);
  return topics.map((topic, i) => topicLag(topic, committed.find((c) => c.topic === topic)?.partitions ?? [], ends[i] ?? []));
}

function describeAssignment(assignment: Record<string, number[]>): string {
  const parts = Object.entries(assignment).map(([topic, partitions]) => `${topic}[${partitions.join(",")}]`);
  return parts.length ? parts.join(" ") : "none";
}
