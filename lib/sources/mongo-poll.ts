/**
 * Reads a MongoDB collection in order of an increasing field: the polling
 * mode of mongo2kafka, for servers without change streams (FerretDB, a
 * standalone mongod). `_id` works when it only grows (ObjectIds from one
 * writer, sequences); an insert-time field does too.
 *
 * Two ways to get the order. "server": `find({field: {$gt: last}})
 * .sort({field: 1}).limit(n)`, cheap where the field is indexed (MongoDB).
 * "client": one unsorted `find({field: {$gt: last}})` of everything after
 * the checkpoint, sorted here; FerretDB pushes neither sort nor limit down
 * (it sorts the whole collection for every query), so this is the only
 * fast way there, at the cost of holding one poll's documents in memory.
 *
 * The gap rule. Polling past the largest value read skips any document that
 * becomes visible later with a smaller value: ObjectIds of two clients in one
 * second (their order is the clients' random bytes, not the insert order), a
 * client whose clock is behind, a value taken long before the insert commits.
 * When the field holds a time (ObjectId, Date, Timestamp), a read only takes
 * values older than `delayMs` ({@link horizon}), as Kafka Connect's JDBC
 * source does with timestamp.delay.interval.ms: a document is never skipped
 * if it is visible within `delayMs` of the time in its field. A field without
 * a time (numbers, strings) has no such bound: its values must become
 * visible in increasing order (one writer, a sequence allotted in commit
 * order), or documents are skipped.
 *
 * Limits, as with any polling connector: updates and deletes of documents
 * already read are not seen, and the field must hold one BSON type across
 * the collection ($gt compares within a type).
 *
 * @example
 * const order = await defaultOrder(client.db("admin")); // "client" on FerretDB
 * const before = horizon(lastId, Date.now(), 5000);
 * const documents = await readAfter(collection, { field: "_id", after: lastId, before, limit: 500 }, order);
 */
import { ObjectId, Timestamp, type Collection, type Db, type Document, type Filter } from "mongodb";

export type ReadOrder = "server" | "client";

export interface BatchQuery {
  field: string;
  /** Exclusive lower bound; undefined reads from the start. */
  after: unknown;
  /** Inclusive upper bound: re-reads exactly a range sent before. */
  upTo?: unknown;
  /** Exclusive upper bound: values too recent to read yet ({@link horizon}). */
  before?: unknown;
  /** Most documents per read with server order; client order reads everything in range. */
  limit: number;
}

export function batchFilter(query: Pick<BatchQuery, "field" | "after" | "upTo" | "before">): Filter<Document> {
  const range: Record<string, unknown> = {};
  if (query.after !== undefined) range.$gt = query.after;
  if (query.upTo !== undefined) range.$lte = query.upTo;
  if (query.before !== undefined) range.$lt = query.before;
  // Documents without the field cannot be placed in the order; they are skipped.
  return { [query.field]: Object.keys(range).length ? range : { $exists: true } };
}

/** The documents after `query.after`, in ascending order of the field. */
export async function readAfter(collection: Collection<Document>, query: BatchQuery, order: ReadOrder): Promise<Document[]> {
  if (order === "server") {
    return collection.find(batchFilter(query)).sort({ [query.field]: 1 }).limit(query.limit).toArray();
  }
  const documents = await collection.find(batchFilter(query)).toArray();
  return documents.sort((a, b) => compareValues(fieldValue(a, query.field), fieldValue(b, query.field)));
}

/**
 * The first value, of the same type as `sample`, too recent to read at
 * `nowMs`: values older than `delayMs` may be read. Undefined when the type
 * holds no time (numbers, strings), which no delay can protect.
 *
 * @example
 * horizon(new ObjectId(), Date.now(), 5000); // the ObjectId of 5 s ago, whole seconds
 */
export function horizon(sample: unknown, nowMs: number, delayMs: number): unknown {
  const ms = nowMs - delayMs;
  if (sample instanceof Date) return new Date(ms);
  switch ((sample as { _bsontype?: string } | undefined)?._bsontype) {
    case "ObjectId":
      // An ObjectId holds whole seconds: every one of second s sorts at or after createFromTime(s).
      return ObjectId.createFromTime(Math.floor(ms / 1000));
    case "Timestamp":
      return new Timestamp({ t: Math.floor(ms / 1000), i: 0 });
  }
  return undefined;
}

/** One value of the field, for its type; undefined while the collection has none. */
export async function sampleValue(collection: Collection<Document>, field: string): Promise<unknown> {
  const document = await collection.findOne({ [field]: { $exists: true } }, { projection: { [field]: 1 } });
  return document === null ? undefined : fieldValue(document, field);
}

/** Client order on FerretDB, whose sorts are not pushed down; server order elsewhere. */
export async function defaultOrder(admin: Db): Promise<ReadOrder> {
  const info = await admin.command({ buildInfo: 1 });
  return "ferretdbVersion" in info ? "client" : "server";
}

/** The largest value of the field, or undefined for an empty collection. */
export async function latestValue(collection: Collection<Document>, field: string): Promise<unknown> {
  const [newest] = await collection
    .find({ [field]: { $exists: true } }, { projection: { [field]: 1 } })
    .sort({ [field]: -1 })
    .limit(1)
    .toArray();
  return newest === undefined ? undefined : fieldValue(newest, field);
}

/** The value at a dotted path (`meta.created`) of a document. */
export function fieldValue(document: Document, field: string): unknown {
  let value: unknown = document;
  for (const part of field.split(".")) value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
}

/** Orders two values of one BSON type as MongoDB does: ObjectIds, dates, timestamps, numbers (Long, Decimal128 too), strings. */
export function compareValues(a: unknown, b: unknown): number {
  const ka = sortKey(a);
  const kb = sortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function sortKey(value: unknown): string | number | bigint {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "string") return value;
  if (value instanceof Date) return value.getTime();
  const bson = value as { _bsontype?: string; toHexString?: () => string; toString?: () => string };
  switch (bson?._bsontype) {
    case "ObjectId":
      return bson.toHexString!();
    case "Long":
      return BigInt(bson.toString!());
    case "Timestamp": {
      const { t, i } = value as Timestamp;
      return (BigInt(t) << 32n) | BigInt(i);
    }
    case "Int32":
    case "Double":
    case "Decimal128":
      return Number(bson.toString!());
  }
  throw new Error(`cannot order values like ${JSON.stringify(value)} on the client; use --order server`);
}
