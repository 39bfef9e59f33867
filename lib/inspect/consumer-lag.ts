/**
 * Consumer lag per group, topic and partition: committed offset, end offset
 * and the difference, with totals. A partition the group never committed is
 * counted from its earliest offset, which is what a new consumer with
 * auto.offset.reset=earliest would still have to read.
 *
 * @example
 * const lag = await fetchGroupLag(admin, "local-consumer-group");
 * lag.total_lag; // 120
 */
import type { Admin } from "kafkajs";
import { errorMessage } from "../errors.ts";
import { topicLag, type TopicLag, type TopicOffsetsEntry } from "../kafka/lag.ts";

export interface GroupLag {
  group: string;
  /** Coordinator state: Stable, Empty, PreparingRebalance, Dead (unknown group), ... */
  state: string;
  members: number;
  total_lag: number;
  topics: TopicLag[];
}

/**
 * Lag of a group over the topics it committed to, or over `topics` when
 * given (the only way to see topics a group consumes but never committed).
 * `topicOffsets` caches end offsets across groups.
 */
export async function fetchGroupLag(
  admin: Admin,
  group: string,
  options: { topics?: string[]; topicOffsets?: Map<string, Promise<TopicOffsetsEntry[]>> } = {},
): Promise<GroupLag> {
  const cache = options.topicOffsets ?? new Map<string, Promise<TopicOffsetsEntry[]>>();
  const offsetsOf = (topic: string) => {
    let entry = cache.get(topic);
    if (!entry) cache.set(topic, (entry = admin.fetchTopicOffsets(topic)));
    return entry;
  };
  const [committed, description] = await Promise.all([
    admin.fetchOffsets({ groupId: group, ...(options.topics?.length ? { topics: options.topics } : {}) }),
    admin.describeGroups([group]),
  ]);
  const info = description.groups[0];
  const topics = await Promise.all(
    [...committed]
      .sort((a, b) => a.topic.localeCompare(b.topic))
      .map(async (t) => {
        try {
          return topicLag(t.topic, t.partitions, await offsetsOf(t.topic));
        } catch (error) {
          return { topic: t.topic, lag: 0, partitions: [], error: errorMessage(error) };
        }
      }),
  );
  return {
    group,
    state: info?.state ?? "Unknown",
    members: info?.members.length ?? 0,
    total_lag: topics.reduce((sum, t) => sum + t.lag, 0),
    topics,
  };
}

/** Lag of the named groups, or of every group of the cluster (sorted), sharing end offsets between them. */
export async function fetchLags(admin: Admin, options: { groups: string[] | "all"; topics?: string[] }): Promise<GroupLag[]> {
  const groups = options.groups === "all" ? (await admin.listGroups()).groups.map((g) => g.groupId).sort() : options.groups;
  const topicOffsets = new Map<string, Promise<TopicOffsetsEntry[]>>();
  const lags: GroupLag[] = [];
  for (const id of groups) lags.push(await fetchGroupLag(admin, id, { topics: options.topics, topicOffsets }));
  return lags;
}

/** Human lines for groups' lag, as consumer-lag prints them. */
export function formatGroupLag(groups: GroupLag[]): string {
  const lines: string[] = [];
  for (const g of groups) {
    lines.push(`group ${g.group} (${g.state}, ${g.members} member(s)): total lag ${g.total_lag}`);
    if (g.topics.length === 0) lines.push("  no committed offsets");
    for (const t of g.topics) {
      lines.push(`  topic ${t.topic}: ${t.error ? `offsets unavailable (${t.error})` : `lag ${t.lag}`}`);
      for (const p of t.partitions) {
        const from = p.committed === null ? `no committed offset, counted from earliest ${p.earliest}` : `committed ${p.committed}`;
        lines.push(`    partition ${p.partition}: ${from}, end ${p.end}, lag ${p.lag}`);
      }
    }
  }
  return lines.join("\n");
}
