/**
 * A MongoDB collection as a pipeline sink: one unordered insert command per
 * batch.
 *
 * Duplicate-key errors count as already written (idempotent redelivery).
 * Documents the server refuses for good (bad field names, too large) are
 * reported as rejected and go to the dead-letter topic. Network errors and
 * server outages are transient: the engine retries the whole batch, which
 * is safe because every document's _id is fixed before the first attempt.
 *
 * The batch goes out as a plain `insert` command rather than insertMany:
 * the driver's bulk API measures every document's BSON size before
 * serializing it anyway, which was a fifth of kafka2mongo's CPU. A batch
 * too large for one command is halved instead.
 *
 * @example
 * const sink = mongoSink(client.db("toolkit").collection("raw"));
 * const { written, duplicates, rejected } = await sink.write(documents);
 */
import {
  BSON,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  ObjectId,
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

/** What the server answers to an insert command. */
interface InsertReply {
  n?: number;
  writeErrors?: { index: number; code: number; errmsg: string }[];
  writeConcernError?: { code: number; errmsg: string };
}

async function insertBatch(collection: Collection<Document>, documents: Document[]): Promise<SinkResult> {
  // The server would make an _id for a document without one, a different one
  // on every retry; fixing it here keeps a retried batch idempotent.
  for (const document of documents) if (document._id === undefined) document._id = new ObjectId();
  let reply: InsertReply;
  try {
    reply = await collection.db.command({ insert: collection.collectionName, documents, ordered: false });
  } catch (error) {
    if (isTransient(error)) throw new TransientSinkError(String((error as Error).message), { cause: error });
    if (isTooLargeToSend(error) && documents.length > 1) return inHalves(collection, documents);
    if (error instanceof MongoServerError && !NOT_ABOUT_A_DOCUMENT.has(Number(error.code))) {
      return findRefusedDocuments(collection, documents, error);
    }
    throw error;
  }
  if (reply.writeConcernError) {
    throw new TransientSinkError(`write concern not satisfied: ${reply.writeConcernError.errmsg}`);
  }
  return insertResult(reply, documents.length);
}

function insertResult(reply: InsertReply, sent: number): SinkResult {
  let duplicates = 0;
  const rejected: SinkResult["rejected"] = [];
  for (const writeError of reply.writeErrors ?? []) {
    if (writeError.code === DUPLICATE_KEY) duplicates++;
    else rejected.push({ index: writeError.index, reason: `mongodb error ${writeError.code}: ${writeError.errmsg}` });
  }
  const written = reply.n ?? 0;
  if (written + duplicates + rejected.length !== sent) {
    // Documents without an outcome may or may not be stored; the engine
    // retries the whole batch and the stored ones come back as duplicates.
    throw new TransientSinkError(`insert accounted for ${written + duplicates + rejected.length} of ${sent} documents`);
  }
  return { written, duplicates, rejected };
}

/** The serializer refuses a command over its buffer (about 17 MB) before anything is sent. */
function isTooLargeToSend(error: unknown): boolean {
  return error instanceof RangeError || error instanceof BSON.BSONError;
}

/**
 * Some servers (FerretDB among them) refuse a whole batch for one bad
 * document; halving the batch finds it without dead-lettering the rest.
 */
async function findRefusedDocuments(collection: Collection<Document>, documents: Document[], error: MongoServerError): Promise<SinkResult> {
  if (documents.length === 1) {
    return { written: 0, duplicates: 0, rejected: [{ index: 0, reason: `mongodb error ${error.code}: ${error.message}` }] };
  }
  return inHalves(collection, documents);
}

async function inHalves(collection: Collection<Document>, documents: Document[]): Promise<SinkResult> {
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
  const mongoError = error as MongoError;
  return (
    typeof mongoError?.hasErrorLabel === "function" &&
    ["RetryableWriteError", "RetryableError", "ResetPool", "SystemOverloadedError"].some((l) => mongoError.hasErrorLabel(l))
  );
}
