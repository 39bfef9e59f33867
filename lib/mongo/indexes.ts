/**
 * Indexes a tool asks for at start (`kafka2mongo --index user_id,ts`): one
 * ascending index per field, named as MongoDB names it (`user_id_1`).
 * Idempotent: an index that exists (same key) is left as it is.
 *
 * @example
 * await ensureIndexes(collection, ["user_id", "event.ts"]); // ["user_id_1", "event.ts_1"]
 */
import type { Collection, Document } from "mongodb";

export async function ensureIndexes(collection: Collection<Document>, fields: string[]): Promise<string[]> {
  // Only the missing ones are created: FerretDB drops the connection when
  // asked again for an index it has, instead of answering "already exists".
  const existing = await collection.indexes().catch((error: { code?: number }) => {
    if (error.code === NAMESPACE_NOT_FOUND) return [];
    throw error;
  });
  const have = new Set(existing.map((index) => JSON.stringify(index.key)));
  const wanted = fields.map((field) => ({ key: { [field]: 1 }, name: `${field}_1` }));
  const missing = wanted.filter((index) => !have.has(JSON.stringify(index.key)));
  if (missing.length) await collection.createIndexes(missing);
  return wanted.map((index) => index.name);
}

const NAMESPACE_NOT_FOUND = 26;

/** The fields of an `--index a,b.c` flag; empty names and `$` are refused by the caller. */
export function parseIndexFields(text: string): string[] {
  return text.split(",").map((f) => f.trim()).filter((f) => f.length > 0);
}
