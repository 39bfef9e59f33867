/**
 * Offset syncs and group failover for one kafka2kafka run: reads the
 * offset-syncs topics of both clusters at start (the destination's for
 * translation, the source's for the two-way check), records every
 * acknowledged copy, writes the runs' syncs every second, syncs the matching
 * groups every interval, and once more when the run ends.
 *
 * @example
 * const failover = await startFailover({ ...clients, topic: "kafka2kafka.offset-syncs.internal", pairs, syncGroups: /^billing/, ... });
 * const sink = kafkaSink({ ..., onAcknowledged: failover.onAcknowledged });
 * await runPipeline({ ... });
 * const rows = await failover.finish(); // last flush and group sync; rows for the report
 */
import type { Admin, Kafka } from "kafkajs";
import { errorMessage, UsageError } from "../errors.ts";
import { unprotectedTwoWay } from "../kafka/replication-rules.ts";
import type { TopicPair } from "../kafka/topics.ts";
import type { Logger } from "../log/logger.ts";
import type { ReplicaMessage } from "../processors/replicate.ts";
import type { AcknowledgedBatch } from "../sinks/kafka.ts";
import { syncGroups, type GroupSyncRow } from "./group-sync.ts";
import { OffsetSyncStore, OffsetSyncTracker } from "./offset-sync.ts";
import { openOffsetSyncWriter, readOffsetSyncs, type OffsetSyncWriter } from "./offset-sync-topic.ts";

/** How often the runs' syncs are written: a failover re-reads at most this much of copying. */
const FLUSH_INTERVAL_MS = 1000;

export interface FailoverOptions {
  source: { kafka: Kafka; admin: Admin; cluster: string; name: string };
  destination: { kafka: Kafka; admin: Admin; cluster: string; name: string };
  /** The offset-syncs topic's name, on both clusters. */
  topic: string;
  provenance: string;
  pairs: TopicPair[];
  /** Groups to sync to the destination; none when absent. */
  syncGroups?: RegExp;
  syncIntervalMs: number;
  /** The replicator's own group, never synced. */
  ownGroup: string;
  log: Logger;
  signal?: AbortSignal;
}

export interface Failover {
  onAcknowledged(batches: AcknowledgedBatch<ReplicaMessage>[]): void;
  /** Stops the timers, writes the last syncs and syncs the groups once more; the rows of that last sync. */
  finish(): Promise<GroupSyncRow[] | undefined>;
  close(): Promise<void>;
}

/**
 * A batch's copies into the tracker: one range when its source offsets have
 * no gap (the usual case, a few operations per batch), else copy by copy.
 */
export function recordBatch(tracker: OffsetSyncTracker, { topic, partition, baseOffset, items }: AcknowledgedBatch<ReplicaMessage>): void {
  const first = items[0]!;
  const last = items[items.length - 1]!;
  const upstream = BigInt(first.sourceOffset);
  if (last.sourceTopic === first.sourceTopic && BigInt(last.sourceOffset) - upstream === BigInt(items.length - 1)) {
    tracker.copiedRange(first.sourceTopic, partition, topic, upstream, baseOffset, items.length);
    return;
  }
  items.forEach((item, i) => tracker.copied(item.sourceTopic, partition, topic, BigInt(item.sourceOffset), baseOffset + BigInt(i)));
}

export async function startFailover(options: FailoverOptions): Promise<Failover> {
  const { source, destination, log } = options;
  // The destination's syncs are needed only to translate group offsets.
  const [intoSource, intoDestination] = await Promise.all([
    readOffsetSyncs(source.kafka, options.topic, { log, signal: options.signal }),
    options.syncGroups ? readOffsetSyncs(destination.kafka, options.topic, { log, signal: options.signal }) : [],
  ]);
  const refusal = unprotectedTwoWay(options.pairs, intoSource, {
    destination: destination.cluster,
    provenance: options.provenance,
    from: source.name,
    to: destination.name,
  });
  if (refusal) throw new UsageError(refusal);

  const store = new OffsetSyncStore();
  for (const sync of intoDestination) if (sync.cluster === source.cluster) store.add(sync);
  const tracker = new OffsetSyncTracker({ cluster: source.cluster, provenance: options.provenance });
  const writer: OffsetSyncWriter = await openOffsetSyncWriter({
    kafka: destination.kafka,
    admin: destination.admin,
    topic: options.topic,
    tracker,
    store: options.syncGroups ? store : undefined,
    log,
  });

  const groupSync = () =>
    syncGroups({
      source: source.admin,
      destination: destination.admin,
      pattern: options.syncGroups!,
      exclude: [options.ownGroup],
      pairs: options.pairs,
      cluster: source.cluster,
      store,
      log,
    });
  const warn = (what: string) => (error: unknown) => log.warn(`${what} failed; retried at the next interval`, { error: errorMessage(error) });
  const flushTimer = setInterval(() => void writer.flush().catch(warn("writing offset syncs")), FLUSH_INTERVAL_MS);
  let groupRound: Promise<unknown> = Promise.resolve();
  const groupTimer = options.syncGroups
    ? setInterval(() => {
        // A long run's report: each partition's offsets on both sides, every interval.
        const report = (rows: GroupSyncRow[]) => rows.forEach((row) => log.info("group offsets", { ...row }));
        groupRound = groupRound.then(() => writer.flush().then(groupSync).then(report)).catch(warn("group offset sync"));
      }, options.syncIntervalMs)
    : undefined;

  const stopTimers = () => {
    clearInterval(flushTimer);
    clearInterval(groupTimer);
  };
  return {
    onAcknowledged(batches) {
      for (const batch of batches) recordBatch(tracker, batch);
    },
    async finish() {
      stopTimers();
      await groupRound;
      await writer.flush();
      return options.syncGroups ? await groupSync() : undefined;
    },
    async close() {
      stopTimers();
      await writer.close();
    },
  };
}
