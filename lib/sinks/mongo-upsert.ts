/**
 * A MongoDB collection as a sink where the _id is an identity: each write
 * replaces the document with that _id (inserting it if new) or deletes it.
 * Within a batch only the last write per _id is sent (earlier ones are
 * superseded, as on a compacted topic); the job runs one batch at a time so
 * a later message never lands before an earlier one. Replaying a batch gives
 * the same result, so retries and redeliveries are safe.
 *
 * @example
 * const sink = mongoUpsertSink(client.db("toolkit").collection("users"));
 * await sink.write([{ replace: { _id: "u1", name: "a" } }, { delete: "u2" }]);
 */
import { MongoBulkWriteError, MongoServerError, type AnyBulkWriteOperation, type Collection, type Document } from "mongodb";
import { TransientSinkError, type Sink, type SinkResult } from "../engine/sink.ts";
import { fatalMongoError, isFatalMongoError, isTransientMongoError } from "../mongo/errors.ts";
import type { MongoWrite } from "../processors/mongo-write.ts";
import { idKey } from "./mongo.ts";
import { errorMessage } from "../errors.ts";

export function mongoUpsertSink(collection: Collection<Document>): Sink<MongoWrite> {
  const target = `${collection.dbName}.${collection.collectionName}`;
  return {
    name: `mongodb ${target} (upsert)`,
    write: (items) => upsertBatch(collection, items, target),
    close: async () => {},
  };
}

async function upsertBatch(collection: Collection<Document>, items: MongoWrite[], target: string): Promise<SinkResult> {
  // The last write per _id, in batch order; the others are superseded.
  const last = new Map<string, number>();
  items.forEach((item, i) => last.set(idKey(idOf(item)), i));
  const sent = [...last.values()].sort((a, b) => a - b);
  const operations = sent.map((i) => operation(items[i]!));
  try {
    await collection.bulkWrite(operations, { ordered: false });
    return { written: items.length, duplicates: 0, rejected: [] };
  } catch (error) {
    if (isTransientMongoError(error)) throw new TransientSinkError(errorMessage(error), { cause: error });
    if (error instanceof MongoBulkWriteError) {
      if (error.writeConcernError || error.result?.getWriteConcernError()) {
        throw new TransientSinkError(`write concern not satisfied: ${error.message}`, { cause: error });
      }
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      if (writeErrors.length === 0) throw new TransientSinkError(`upsert interrupted: ${error.message}`, { cause: error });
      const rejected = writeErrors.map((e) => ({ index: sent[e.index]!, reason: `mongodb error ${e.code}: ${e.errmsg}` }));
      return { written: items.length - rejected.length, duplicates: 0, rejected };
    }
    if (isFatalMongoError(error)) throw fatalMongoError(error, target);
    if (error instanceof MongoServerError && items.length > 1) {
      const middle = Math.ceil(items.length / 2);
      const first = await upsertBatch(collection, items.slice(0, middle), target);
      const second = await upsertBatch(collection, items.slice(middle), target);
      return {
        written: first.written + second.written,
        duplicates: 0,
        rejected: [...first.rejected, ...second.rejected.map((r) => ({ ...r, index: r.index + middle }))],
      };
    }
    if (error instanceof MongoServerError) return { written: 0, duplicates: 0, rejected: [{ index: 0, reason: `mongodb error ${error.code}: ${error.message}` }] };
    throw error;
  }
}

function idOf(item: MongoWrite): unknown {
  return "delete" in item ? item.delete : item.replace._id;
}

function operation(item: MongoWrite): AnyBulkWriteOperation<Document> {
  if ("delete" in item) return { deleteOne: { filter: { _id: item.delete } as Document } };
  return { replaceOne: { filter: { _id: item.replace._id }, replacement: item.replace, upsert: true } };
}
