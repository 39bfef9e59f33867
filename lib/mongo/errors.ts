/**
 * How a MongoDB failure is handled by a sink, decided by error class and the
 * server's error code:
 *
 * - transient: the network, server selection, retryable labels, unmet write
 *   concern (the 6.x driver throws a MongoWriteConcernError for a reply that
 *   carries a `writeConcernError`: the writes were applied but may not be
 *   durable). The engine retries the same batch later.
 * - fatal: about the request, not a document (not authorized, an invalid
 *   namespace, an unsupported command or option). Retrying or splitting the
 *   batch cannot help; the run stops with exit 1 and commits nothing more.
 * - about a document: anything else the server refuses; the sink finds the
 *   documents at fault and they are dead-lettered.
 *
 * @example
 * if (isTransientMongoError(error)) throw new TransientSinkError(...);
 * if (isFatalMongoError(error)) throw new FatalMongoError(describe(error), { cause: error });
 */
import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
  type MongoError,
} from "mongodb";

/** The sink cannot write at all (permissions, namespace, server support); never retried. */
export class FatalMongoError extends Error {
  override name = "FatalMongoError";
}

/**
 * Server error codes about the request or the caller, never one document:
 * Unauthorized, AuthenticationFailed, IllegalOperation, CommandNotFound,
 * InvalidOptions, InvalidNamespace, NotImplemented-style refusals, and
 * FerretDB's NotImplemented (238) for unsupported features.
 */
const FATAL_CODES = new Set([11, 13, 18, 20, 59, 72, 73, 115, 166, 238, 8000]);

export function isTransientMongoError(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoWriteConcernError
  ) {
    return true;
  }
  const mongoError = error as MongoError;
  return (
    typeof mongoError?.hasErrorLabel === "function" &&
    ["RetryableWriteError", "RetryableError", "ResetPool", "SystemOverloadedError"].some((l) => mongoError.hasErrorLabel(l))
  );
}

export function isFatalMongoError(error: unknown): error is MongoServerError {
  return error instanceof MongoServerError && FATAL_CODES.has(Number(error.code));
}

/** One line for a fatal error: what the server said and its code name. */
export function fatalMongoError(error: MongoServerError, target: string): FatalMongoError {
  const code = error.codeName ? `${error.code} ${error.codeName}` : String(error.code);
  return new FatalMongoError(`MongoDB refuses to write to ${target} (error ${code}): ${error.message}`, { cause: error });
}
