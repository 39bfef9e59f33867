/**
 * Creates a topic when it does not exist yet, so a producer never depends on
 * the broker's auto-creation (which would ignore the partition count).
 *
 * @example
 * const created = await ensureTopic(admin, "logins", { partitions: 3 });
 */
import type { Admin } from "kafkajs";

export interface EnsureTopicResult {
  created: boolean;
  partitions: number;
}

export async function ensureTopic(
  admin: Admin,
  topic: string,
  options: { partitions: number; timeoutMs?: number },
): Promise<EnsureTopicResult> {
  if (!(await admin.listTopics()).includes(topic)) {
    // false means someone else created it between the two calls; also fine.
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: options.partitions }],
      waitForLeaders: true,
      timeout: options.timeoutMs ?? 10_000,
    });
    if (created) return { created: true, partitions: options.partitions };
  }
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  return { created: false, partitions: metadata.topics[0]?.partitions.length ?? 0 };
}
