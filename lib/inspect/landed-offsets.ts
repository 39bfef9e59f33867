/**
 * The (partition, offset) of every document that kafka2mongo landed for a
 * topic, fetched in one projected scan rather than one query per offset.
 * Documents carry _kafka_topic, _kafka_partition and _kafka_offset.
 *
 * @example
 * const { counts } = await fetchLandedOffsets(db.collection("raw"), "logins");
 * counts.count(0, 42); // documents for partition 0, offset 42
 */
import type { Collection, Document } from "mongodb";
import { OffsetCounts } from "./reconcile.ts";

export interface LandedOffsets {
  counts: OffsetCounts;
  documents: number;
  /** Documents of the topic without a usable partition or offset. */
  unreadable: number;
}

export async function fetchLandedOffsets(collection: Collection<Document>, topic: string): Promise<LandedOffsets> {
  const counts = new OffsetCounts();
  let documents = 0;
  let unreadable = 0;
  const cursor = collection
    .find({ _kafka_topic: topic }, { projection: { _id: 0, _kafka_partition: 1, _kafka_offset: 1 } })
    .batchSize(10_000);
  for await (const doc of cursor) {
    documents++;
    const partition = toInteger(doc._kafka_partition);
    const offset = toInteger(doc._kafka_offset);
    if (partition === undefined || offset === undefined) unreadable++;
    else counts.add(partition, offset);
  }
  return { counts, documents, unreadable };
}

/** A number stored as a BSON int, double, long or decimal string. */
export function toInteger(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string") return /^\d+$/.test(value) ? Number(value) : undefined;
  if (value !== null && typeof value === "object" && "toNumber" in value && typeof value.toNumber === "function") {
    return toInteger(value.toNumber());
  }
  return undefined;
}
