/**
 * Reconciliation of a topic with where its messages went: every offset
 * read from the topic must be a document in MongoDB or a message in the
 * dead-letter topic. Reports what is missing and which offsets have more
 * than one document. Sets of offsets, not queries: 200k offsets take
 * milliseconds.
 *
 * @example
 * const landed = new OffsetCounts();
 * landed.add(0, 0); landed.add(0, 2);
 * const result = reconcile({ topicOffsets: new Map([[0, [0, 1, 2]]]), landed, deadLettered: new OffsetCounts() });
 * result.missing; // [{ partition: 0, offset: 1 }]
 */

/** How many times each (partition, offset) was seen. */
export class OffsetCounts {
  private readonly byPartition = new Map<number, Map<number, number>>();
  private entries = 0;

  add(partition: number, offset: number): void {
    let offsets = this.byPartition.get(partition);
    if (!offsets) this.byPartition.set(partition, (offsets = new Map()));
    offsets.set(offset, (offsets.get(offset) ?? 0) + 1);
    this.entries++;
  }

  count(partition: number, offset: number): number {
    return this.byPartition.get(partition)?.get(offset) ?? 0;
  }

  /** Everything added, duplicates included. */
  get total(): number {
    return this.entries;
  }

  *each(): Generator<{ partition: number; offset: number; count: number }> {
    for (const [partition, offsets] of this.byPartition) {
      for (const [offset, count] of offsets) yield { partition, offset, count };
    }
  }
}

export interface OffsetRef {
  partition: number;
  offset: number;
}

export interface ReconcileInput {
  /** Offsets read from the topic, per partition. */
  topicOffsets: Map<number, number[]>;
  landed: OffsetCounts;
  deadLettered: OffsetCounts;
  /** How many missing offsets and duplicates to list; all are counted. */
  listLimit?: number;
}

export interface ReconcileResult {
  expected: number;
  /** Topic offsets with at least one document. */
  landed: number;
  /** Topic offsets in the dead-letter topic (some may also have a document). */
  deadLettered: number;
  missingCount: number;
  missing: OffsetRef[];
  /** Offsets with more than one document. */
  duplicateCount: number;
  duplicates: Array<OffsetRef & { documents: number }>;
  /** Documents for offsets not read from the topic (written after the read began, or from an older topic). */
  unexpectedDocuments: number;
}

export function reconcile(input: ReconcileInput): ReconcileResult {
  const limit = input.listLimit ?? 10;
  const result: ReconcileResult = {
    expected: 0,
    landed: 0,
    deadLettered: 0,
    missingCount: 0,
    missing: [],
    duplicateCount: 0,
    duplicates: [],
    unexpectedDocuments: 0,
  };
  const seen = new Map<number, Set<number>>();
  for (const partition of [...input.topicOffsets.keys()].sort((a, b) => a - b)) {
    const offsets = input.topicOffsets.get(partition) ?? [];
    seen.set(partition, new Set(offsets));
    for (const offset of offsets) {
      result.expected++;
      const documents = input.landed.count(partition, offset);
      const dead = input.deadLettered.count(partition, offset) > 0;
      if (documents > 0) result.landed++;
      if (dead) result.deadLettered++;
      if (documents === 0 && !dead) {
        result.missingCount++;
        if (result.missing.length < limit) result.missing.push({ partition, offset });
      }
    }
  }
  for (const { partition, offset, count } of input.landed.each()) {
    if (!seen.get(partition)?.has(offset)) result.unexpectedDocuments += count;
    if (count > 1) {
      result.duplicateCount++;
      if (result.duplicates.length < limit) result.duplicates.push({ partition, offset, documents: count });
    }
  }
  return result;
}
