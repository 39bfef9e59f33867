/**
 * A MongoDB collection as a pipeline sink: one unordered insertMany per batch.
 *
 * Duplicate-key errors count as already written (idempotent redelivery).
 * Documents the server refuses for good (bad field names, too large) are
 * reported as rejected and go to the dead-letter topic. Network errors and
 * server outages are transient: the engine retries the whole batch, which
 * is safe because every document's _id was fixed before the first attempt.
 *
 * @example
 * const sink = mongoSink(client.db("toolkit").collection("raw"));
 * const { written, duplicates, rejected } = await sink.write(documents);
 */
import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection,
  type Document,
  type MongoError,
} from "mongodb";
import { TransientSinkError, type Sink, type SinkResult } from "../engine/sink.ts";

const DUPLICATE_KEY = 11000;
// Errors about who is asking, not about a document: splitting the batch to
// find a culprit would wrongly dead-letter every document.
const NOT_ABOUT_A_DOCUMENT = new Set([11, 13, 18, 8000]);

export function mongoSink(collection: Collection<Document>): Sink<Document> {
  return {
    name: `mongodb ${collection.dbName}.${collection.collectionName}`,
    write: (documents) => insertBatch(collection, documents),
    close: async () => {},
  };
}

async function insertBatch(collection: Collection<Document>, documents: Document[]): Promise<SinkResult> {
  try {
    const result = await collection.insertMany(documents, { ordered: false });
    return { written: result.insertedCount, duplicates: 0, rejected: [] };
  } catch (error) {
    if (error instanceof MongoBulkWriteError && !error.writeConcernError) {
      const result = bulkResult(error);
      if (result.written + result.duplicates + result.rejected.length === documents.length) return result;
      // The driver also reports a failed connection as a bulk write error,
      // with no per-document errors. Documents without an outcome may or may
      // not be stored, so the whole batch is retried; the stored ones come
      // back as duplicate keys.
      throw new TransientSinkError(`insert interrupted: ${error.message}`, { cause: error });
    }
    if (isTransient(error)) throw new TransientSinkError(String((error as Error).message), { cause: error });
    if (error instanceof MongoServerError && !NOT_ABOUT_A_DOCUMENT.has(Number(error.code))) {
      return findRefusedDocuments(collection, documents, error);
    }
    throw error;
  }
}

function bulkResult(error: MongoBulkWriteError): SinkResult {
  const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  let duplicates = 0;
  const rejected: SinkResult["rejected"] = [];
  for (const writeError of writeErrors) {
    if (writeError.code === DUPLICATE_KEY) duplicates++;
    else rejected.push({ index: writeError.index, reason: `mongodb error ${writeError.code}: ${writeError.errmsg}` });
  }
  return { written: error.insertedCount, duplicates, rejected };
}

/**
 * Some servers (FerretDB among them) refuse a whole batch for one bad
 * document; halving the batch finds it without dead-lettering the rest.
 */
async function findRefusedDocuments(collection: Collection<Document>, documents: Document[], error: MongoServerError): Promise<SinkResult> {
  if (documents.length === 1) {
    return { written: 0, duplicates: 0, rejected: [{ index: 0, reason: `mongodb error ${error.code}: ${error.message}` }] };
  }
  const middle = Math.ceil(documents.length / 2);
  const first = await insertBatch(collection, documents.slice(0, middle));
  const second = await insertBatch(collection, documents.slice(middle));
  return {
    written: first.written + second.written,
    duplicates: first.duplicates + second.duplicates,
    rejected: [...first.rejected, ...second.rejected.map((r) => ({ ...r, index: r.index + middle }))],
  };
}

function isTransient(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError
  ) {
    return true;
  }
  if (error instanceof MongoBulkWriteError && error.writeConcernError) return true;
  const mongoError = error as MongoError;
  return (
    typeof mongoError?.hasErrorLabel === "function" &&
    ["RetryableWriteError", "RetryableError", "ResetPool", "SystemOverloadedError"].some((l) => mongoError.hasErrorLabel(l))
  );
}
