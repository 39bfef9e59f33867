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
import { BSON, MongoServerError, ObjectId, type Collection, type Document } from "mongodb";
import { fatalMongoError, isFatalMongoError, isTransientMongoError } from "../mongo/errors.ts";
import { TransientSinkError, type Sink, type SinkResult } from "../engine/sink.ts";
import { errorMessage } from "../errors.ts";

const DUPLICATE_KEY = 11000;

export function mongoSink(collection: Collection<Document>): Sink<Document> {
  return {
    name: `mongodb ${collection.dbName}.${collection.collectionName}`,
    write: (documents) => insertBatch(collection, documents),
    close: async () => {},
  };
}

/** What the server answers to an insert command. */
export interface InsertReply {
  n?: number;
  writeErrors?: { index: number; code: number; errmsg: string }[];
}

async function insertBatch(collection: Collection<Document>, documents: Document[]): Promise<SinkResult> {
  // The server would make an _id for a document without one, a different one
  // on every retry; fixing it here keeps a retried batch idempotent.
  for (const document of documents) if (document._id === undefined) document._id = new ObjectId();
  let reply: InsertReply;
  try {
    reply = await collection.db.command({ insert: collection.collectionName, documents, ordered: false });
  } catch (error) {
    if (isTransientMongoError(error)) throw new TransientSinkError(errorMessage(error), { cause: error });
    if (isTooLargeToSend(error) && documents.length > 1) return inHalves(collection, documents);
    // About the request, not a document: splitting the batch would dead-letter every document.
    if (isFatalMongoError(error)) throw fatalMongoError(error, `${collection.dbName}.${collection.collectionName}`);
    if (error instanceof MongoServerError) return findRefusedDocuments(collection, documents, error);
    throw error;
  }
  const writeErrors = reply.writeErrors ?? [];
  if (!writeErrors.some((e) => e.code === DUPLICATE_KEY)) return insertResult(reply, documents.length, new Set(), "");
  const redelivered = await redeliveredIds(collection, documents, writeErrors);
  const clashes = writeErrors.some((e) => e.code === DUPLICATE_KEY && !redelivered.has(e.index));
  return insertResult(reply, documents.length, redelivered, clashes ? await uniqueIndexNames(collection) : "");
}

type WriteError = NonNullable<InsertReply["writeErrors"]>[number] & { keyPattern?: Document };

/**
 * Of the duplicate-key errors, the documents whose _id is already stored:
 * redeliveries. Any other E11000 is a clash on another unique index, and that
 * message must go to the dead-letter topic, not be counted as written.
 */
async function redeliveredIds(collection: Collection<Document>, documents: Document[], writeErrors: WriteError[]): Promise<Set<number>> {
  const redelivered = new Set<number>();
  const unsure: number[] = [];
  for (const writeError of writeErrors) {
    if (writeError.code !== DUPLICATE_KEY) continue;
    const index = duplicateIndexName(writeError);
    if (index === "_id_") redelivered.add(writeError.index);
    else if (index === undefined) unsure.push(writeError.index);
  }
  // FerretDB does not name the index: ask whether the _id is there.
  if (unsure.length) {
    const ids = unsure.map((i) => documents[i]!._id);
    const stored = await collection.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray();
    const storedIds = new Set(stored.map((d) => idKey(d._id)));
    for (const i of unsure) if (storedIds.has(idKey(documents[i]!._id))) redelivered.add(i);
  }
  return redelivered;
}

/** An _id as comparable text, whatever its BSON type. */
export function idKey(id: unknown): string {
  return Buffer.from(BSON.serialize({ id })).toString("hex");
}

/** Names of the collection's unique indexes other than _id, for a dead letter's reason. */
async function uniqueIndexNames(collection: Collection<Document>): Promise<string> {
  const indexes = await collection.indexes().catch(() => []);
  const names = indexes.filter((i) => i.unique && i.name !== "_id_").map((i) => `'${i.name}'`);
  return names.length ? names.join(" or ") : "other than _id";
}

/** The index named by a duplicate-key error (MongoDB says it; FerretDB does not). */
function duplicateIndexName(writeError: WriteError): string | undefined {
  if (writeError.keyPattern) {
    const fields = Object.keys(writeError.keyPattern);
    if (fields.length === 1 && fields[0] === "_id") return "_id_";
  }
  return /index: (\S+) dup key/.exec(writeError.errmsg)?.[1];
}

/**
 * The outcome of an insert command from the server's reply. (An unmet write
 * concern never gets here: the driver throws a MongoWriteConcernError, which
 * is transient, so the batch is retried and its documents come back as
 * duplicates; see lib/mongo/errors.ts.)
 */
export function insertResult(reply: InsertReply, sent: number, redelivered = new Set<number>(), uniqueIndexes = "other than _id"): SinkResult {
  let duplicates = 0;
  const rejected: SinkResult["rejected"] = [];
  for (const writeError of reply.writeErrors ?? []) {
    if (redelivered.has(writeError.index)) duplicates++;
    else if (writeError.code === DUPLICATE_KEY) {
      const index = duplicateIndexName(writeError as WriteError);
      rejected.push({
        index: writeError.index,
        reason: `duplicate key on unique index ${index ? `'${index}'` : uniqueIndexes}: ${writeError.errmsg}`,
      });
    } else rejected.push({ index: writeError.index, reason: `mongodb error ${writeError.code}: ${writeError.errmsg}` });
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
