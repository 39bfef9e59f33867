/**
 * Lag arithmetic shared by the engine (is this member caught up?) and
 * consumer-lag (what does a group still have to read?). A partition the
 * group never committed counts from its earliest offset, which is what a new
 * consumer with auto.offset.reset=earliest would still have to read.
 *
 * @example
 * partitionLag({ partition: 0, committed: "-1", low: "0", high: "80" });
 * // { partition: 0, committed: null, earliest: 0, end: 80, lag: 80, from_earliest: true }
 */

export interface PartitionLag {
  partition: number;
  committed: number | null;
  earliest: number;
  end: number;
  lag: number;
  /** No committed offset: lag counted from the earliest offset. */
  from_earliest: boolean;
}

export interface TopicLag {
  topic: string;
  lag: number;
  partitions: PartitionLag[];
  /** Set when the topic's offsets could not be read, e.g. it was deleted after the group committed. */
  error?: string;
}

/** Lag of one partition; `committed` is "-1" when the group has none. */
export function partitionLag(input: { partition: number; committed: string; low: string; high: string }): PartitionLag {
  const committed = Number(input.committed);
  const earliest = Number(input.low);
  const end = Number(input.high);
  const hasCommit = committed >= 0;
  return {
    partition: input.partition,
    committed: hasCommit ? committed : null,
    earliest,
    end,
    lag: Math.max(0, end - (hasCommit ? committed : earliest)),
    from_earliest: !hasCommit,
  };
}

export interface TopicOffsetsEntry {
  partition: number;
  low: string;
  high: string;
}

/**
 * Lag of one topic from the group's committed offsets and the topic's
 * offsets. Partitions the group has no entry for count as uncommitted.
 */
export function topicLag(
  topic: string,
  committed: Array<{ partition: number; offset: string }>,
  offsets: TopicOffsetsEntry[],
): TopicLag {
  const committedBy = new Map(committed.map((c) => [c.partition, c.offset]));
  const partitions = [...offsets]
    .sort((a, b) => a.partition - b.partition)
    .map((o) => partitionLag({ partition: o.partition, committed: committedBy.get(o.partition) ?? "-1", low: o.low, high: o.high }));
  return { topic, lag: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
}
