/**
 * Consumer-group failover (MirrorMaker 2's checkpoints with
 * sync.group.offsets.enabled): the committed source offsets of the groups
 * that match a pattern are translated through the offset syncs and
 * committed to the same groups on the destination, so a consumer that moves
 * to the destination cluster resumes where it stopped. A group is written
 * only while it has no active member on the destination, and only forward:
 * a destination group already past the translated offset keeps its own.
 *
 * Every partition gives one report row, with both sides' offsets and lag,
 * like consumer-lag's.
 *
 * @example
 * const rows = await syncGroups({ source: sourceAdmin, destination: destAdmin, pattern: /^billing/,
 *   exclude: ["kafka2kafka"], pairs: [{ source: "logins", destination: "logins" }], cluster: "src-id", store, log });
 * // [{ group: "billing", topic: "logins", partition: 0, source_offset: 400, translated: 450, action: "written", ... }]
 */
import type { Admin } from "kafkajs";
import { errorMessage } from "../errors.ts";
import type { TopicPair } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";
import type { OffsetSyncStore } from "./offset-sync.ts";

/** What a sync did for one partition of a group. */
export type GroupSyncAction =
  /** The translated offset was committed to the destination group. */
  | "written"
  /** The destination group already stands at the translated offset. */
  | "current"
  /** The destination group is past the translated offset; left alone. */
  | "ahead"
  /** The destination group has active members; nothing is written while it consumes there. */
  | "active"
  /** No offset sync at or before the committed offset (copied before syncs were kept, or not yet). */
  | "untranslatable";

export interface GroupSyncRow {
  group: string;
  topic: string;
  partition: number;
  /** The group's committed offset on the source. */
  source_offset: string;
  source_end: string;
  source_lag: number;
  target: string;
  translated: string | null;
  /** The destination group's committed offset after this sync (null: none). */
  destination_offset: string | null;
  destination_end: string;
  destination_lag: number | null;
  action: GroupSyncAction;
}

/** The action for one partition; pure, so the rule is tested on its own. */
export function groupSyncAction(translated: bigint | undefined, destinationCommitted: bigint | undefined, active: boolean): GroupSyncAction {
  if (translated === undefined) return "untranslatable";
  if (destinationCommitted !== undefined && destinationCommitted > translated) return "ahead";
  if (destinationCommitted === translated) return "current";
  return active ? "active" : "written";
}

export interface GroupSyncOptions {
  source: Admin;
  destination: Admin;
  pattern: RegExp;
  /** Groups never synced: the replicator's own. */
  exclude: string[];
  pairs: TopicPair[];
  /** Source cluster id (the flows' key in the store). */
  cluster: string;
  store: OffsetSyncStore;
  log: Logger;
}

/** One sync of every matching group; a group that fails is logged and skipped, the rest go on. */
export async function syncGroups(options: GroupSyncOptions): Promise<GroupSyncRow[]> {
  const { source, destination, store, log } = options;
  const listed = await source.listGroups();
  const groups = listed.groups
    .map((g) => g.groupId)
    .filter((g) => options.pattern.test(g) && !options.exclude.includes(g))
    .sort();
  if (groups.length === 0) return [];
  const sourceTopics = [...new Set(options.pairs.map((p) => p.source))];
  const targetOf = new Map(options.pairs.map((p) => [p.source, p.destination]));
  const ends = async (admin: Admin, topics: string[]) =>
    new Map(await Promise.all(topics.map(async (t) => [t, new Map((await admin.fetchTopicOffsets(t)).map((o) => [o.partition, o.high]))] as const)));
  const [sourceEnds, destinationEnds] = await Promise.all([ends(source, sourceTopics), ends(destination, [...new Set(targetOf.values())])]);

  const rows: GroupSyncRow[] = [];
  for (const group of groups) {
    try {
      rows.push(...(await syncGroup(group)));
    } catch (error) {
      log.warn("group offset sync failed", { group, error: errorMessage(error) });
    }
  }
  return rows;

  async function syncGroup(group: string): Promise<GroupSyncRow[]> {
    const committed = await source.fetchOffsets({ groupId: group, topics: sourceTopics });
    const targets = [...new Set(committed.filter((t) => t.partitions.some((p) => p.offset !== "-1")).map((t) => targetOf.get(t.topic)!))];
    if (targets.length === 0) return [];
    const [described, destinationCommitted] = await Promise.all([
      destination.describeGroups([group]),
      destination.fetchOffsets({ groupId: group, topics: targets }),
    ]);
    const active = (described.groups[0]?.members.length ?? 0) > 0;
    const destinationOffset = (topic: string, partition: number) => {
      const offset = destinationCommitted.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === partition)?.offset;
      return offset === undefined || offset === "-1" ? undefined : BigInt(offset);
    };
    const rows: GroupSyncRow[] = [];
    const writes = new Map<string, { partition: number; offset: string }[]>();
    for (const { topic, partitions } of committed) {
      const target = targetOf.get(topic)!;
      for (const { partition, offset } of partitions) {
        if (offset === "-1") continue;
        const translated = store.translate({ cluster: options.cluster, topic, partition, target }, BigInt(offset));
        const before = destinationOffset(target, partition);
        const action = groupSyncAction(translated, before, active);
        if (action === "written") writes.set(target, [...(writes.get(target) ?? []), { partition, offset: String(translated) }]);
        const after = action === "written" ? translated : before;
        const sourceEnd = sourceEnds.get(topic)?.get(partition) ?? offset;
        const destinationEnd = destinationEnds.get(target)?.get(partition) ?? "0";
        rows.push({
          group,
          topic,
          partition,
          source_offset: offset,
          source_end: sourceEnd,
          source_lag: Math.max(0, Number(BigInt(sourceEnd) - BigInt(offset))),
          target,
          translated: translated === undefined ? null : String(translated),
          destination_offset: after === undefined ? null : String(after),
          destination_end: destinationEnd,
          destination_lag: after === undefined ? null : Math.max(0, Number(BigInt(destinationEnd) - after)),
          action,
        });
      }
    }
    for (const [topic, partitions] of writes) await destination.setOffsets({ groupId: group, topic, partitions });
    if (writes.size) log.info("synced group offsets to the destination", { group, partitions: [...writes.values()].flat().length });
    return rows;
  }
}

/** The rows as text, one line per partition, grouped by group (like consumer-lag's report). */
export function formatGroupSync(rows: GroupSyncRow[]): string {
  const lines: string[] = [];
  let group: string | undefined;
  for (const r of rows) {
    if (r.group !== group) lines.push(`group ${(group = r.group)}:`);
    const destination = r.destination_offset === null ? "no committed offset" : `${r.destination_offset} (lag ${r.destination_lag})`;
    lines.push(
      `  ${r.topic}/${r.partition}: source ${r.source_offset} of ${r.source_end} (lag ${r.source_lag}) -> ` +
        `${r.target}/${r.partition}: translated ${r.translated ?? "none"}, destination ${destination} of ${r.destination_end}: ${r.action}`,
    );
  }
  return lines.join("\n");
}
