/**
 * What a MongoDB database holds: its collections with document counts, sizes
 * and indexes. Kept apart from the health check because it can be slow (on
 * FerretDB, collection statistics read the data), so it is bounded: at most
 * `limit` collections, a few statistics calls at a time, and a time budget of
 * its own. Whatever did not finish in time is reported as "not measured in
 * time", never as a problem of the server.
 *
 * @example
 * const inventory = await takeInventory(client.db("toolkit"), { limit: 50, budgetMs: 5000 });
 * inventory.complete;                 // false if something was not measured in time
 * inventory.collections[0]?.count;    // largest measured collection first
 */
import type { Db, Document } from "mongodb";
import { errorMessage } from "../errors.ts";

export interface CollectionInventory {
  name: string;
  /** From collection statistics (an estimate on MongoDB); null when not measured in time. */
  count: number | null;
  /** Bytes of data, when the server reports it. */
  size_bytes?: number;
  /** Null when not listed in time. */
  indexes: Array<{ name: string; key: Record<string, unknown>; unique?: boolean }> | null;
}

export interface MongoInventory {
  database: string;
  /** True when every collection of the database was measured. */
  complete: boolean;
  /** Collections in the database; null when not even their names came in time. */
  collections_total: number | null;
  /** Measured ones by size (largest first), then the rest by name. */
  collections: CollectionInventory[];
  /** What is missing and why, e.g. "count of 12 collections: not measured in time (5 s)". */
  notes: string[];
}

export interface InventoryOptions {
  /** Most collections to report; named ones are taken as given. */
  limit: number;
  /** Only these collections, in this order. */
  names?: string[];
  budgetMs: number;
  /** Statistics calls in flight at once; each can read a whole collection on FerretDB. */
  concurrency?: number;
}

export async function takeInventory(db: Db, options: InventoryOptions): Promise<MongoInventory> {
  const inventory: MongoInventory = { database: db.databaseName, complete: false, collections_total: null, collections: [], notes: [] };
  const budget = new AbortController();
  const timer = setTimeout(() => budget.abort(), options.budgetMs);
  const inTime = <T>(work: Promise<T>): Promise<T | undefined> =>
    Promise.race([work, new Promise<undefined>((resolve) => budget.signal.addEventListener("abort", () => resolve(undefined), { once: true }))]);
  const budgetText = `${options.budgetMs / 1000} s`;
  try {
    const listing = await inTime(listCollectionNames(db)).catch((error) => {
      inventory.notes.push(`collections: could not be listed: ${errorMessage(error)}`);
      return undefined;
    });
    if (!listing) {
      if (inventory.notes.length === 0) inventory.notes.push(`collections: not listed in time (${budgetText})`);
      return inventory;
    }
    inventory.collections_total = listing.length;
    const chosen = chooseCollections(listing, options, inventory.notes);
    const entries = chosen.map((name): CollectionInventory => ({ name, count: null, indexes: null }));

    let next = 0;
    const measureNext = async (): Promise<void> => {
      while (!budget.signal.aborted && next < entries.length) {
        const entry = entries[next++]!;
        await inTime(measure(db, entry)).catch((error) => {
          inventory.notes.push(`${entry.name}: ${errorMessage(error)}`);
        });
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, measureNext));

    // A copy: calls still running past the budget must not change the report afterwards.
    const measured = entries.map((e) => ({ ...e }));
    const noCount = measured.filter((e) => e.count === null).length;
    const noIndexes = measured.filter((e) => e.indexes === null).length;
    if (noCount) inventory.notes.push(`count of ${noCount} of ${entries.length} collections: not measured in time (${budgetText})`);
    if (noIndexes) inventory.notes.push(`indexes of ${noIndexes} of ${entries.length} collections: not listed in time (${budgetText})`);
    inventory.complete = noCount === 0 && noIndexes === 0 && measured.length === listing.length && inventory.notes.length === 0;
    inventory.collections = measured.sort(bySizeThenName);
    return inventory;
  } finally {
    clearTimeout(timer);
    budget.abort();
  }
}

async function listCollectionNames(db: Db): Promise<string[]> {
  const infos = await db.listCollections({}, { nameOnly: true, authorizedCollections: true }).toArray();
  return infos.filter((info) => (info.type ?? "collection") === "collection").map((info) => info.name).sort();
}

function chooseCollections(existing: string[], options: InventoryOptions, notes: string[]): string[] {
  if (options.names?.length) {
    const missing = options.names.filter((n) => !existing.includes(n));
    if (missing.length) notes.push(`no such collection: ${missing.join(", ")}`);
    return options.names.filter((n) => existing.includes(n));
  }
  if (existing.length > options.limit) {
    notes.push(`showing ${options.limit} of ${existing.length} collections (raise --max-collections, or pick with --collections)`);
  }
  return existing.slice(0, options.limit);
}

/** Fills in count, size and indexes; each part lands as soon as it is known. */
async function measure(db: Db, entry: CollectionInventory): Promise<void> {
  const collection = db.collection(entry.name);
  const indexes = collection.indexes().then((list) => {
    entry.indexes = list.map((index) => ({
      name: String(index.name),
      key: index.key as Record<string, unknown>,
      ...(index.unique ? { unique: true } : {}),
    }));
  });
  // $collStats storageStats: count and size in one call, from storage
  // statistics on MongoDB; FerretDB computes it by reading the collection.
  const stats = collection
    .aggregate<{ storageStats?: Document }>([{ $collStats: { storageStats: {} } }])
    .toArray()
    .then(([result]) => {
      const storage = result?.storageStats;
      if (typeof storage?.count === "number") entry.count = storage.count;
      if (typeof storage?.size === "number") entry.size_bytes = storage.size;
    });
  await Promise.all([indexes, stats]);
  // A server without $collStats still answers the count command.
  if (entry.count === null) entry.count = await collection.estimatedDocumentCount();
}

function bySizeThenName(a: CollectionInventory, b: CollectionInventory): number {
  const sizeA = a.size_bytes ?? -1;
  const sizeB = b.size_bytes ?? -1;
  return sizeB - sizeA || a.name.localeCompare(b.name);
}

/** Human lines for an inventory, indented under the health lines. */
export function formatInventory(inventory: MongoInventory): string[] {
  const total = inventory.collections_total === null ? "collections not listed" : `${inventory.collections_total} collection(s)`;
  const lines = [`  database ${inventory.database}: ${total}${inventory.complete ? "" : " (inventory partial)"}`];
  for (const c of inventory.collections) {
    const count = c.count === null ? "count: not measured in time" : `${c.count} documents`;
    const size = c.size_bytes === undefined ? "" : `, ${formatBytes(c.size_bytes)}`;
    const indexes = c.indexes === null ? "not listed in time" : c.indexes.map((i) => `${i.name}${i.unique ? " (unique)" : ""}`).join(", ") || "none";
    lines.push(`    ${c.name}: ${count}${size}; indexes: ${indexes}`);
  }
  for (const note of inventory.notes) lines.push(`  note: ${note}`);
  return lines;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}
