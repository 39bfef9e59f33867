/**
 * The one rule for "is this Kafka error worth retrying", shared by the
 * engine's retries, every Kafka sink and the dead-letter route, so an outage
 * is waited out the same way wherever it surfaces.
 *
 * Retriable: anything kafkajs marks `retriable` (broker unavailable, leader
 * moved, coordinator loading, concurrent transactions, ...), a request that
 * timed out, and kafkajs giving up after its own retries of a retriable error
 * (KafkaJSNumberOfRetriesExceeded), also when an outer retrier wraps that in
 * KafkaJSNonRetriableError around the original retriable cause (what a
 * producer's send throws while the broker restarts). Never retriable: a fenced transactional
 * producer (another member owns its partition now), a connection error
 * marked not retriable (a TLS failure, see client.ts) and everything else.
 *
 * @example
 * try { await producer.send(request); }
 * catch (error) { if (isRetriableKafkaError(error)) throw new TransientSinkError("...", { cause: error }); throw error; }
 */

const RETRIABLE_NAMES = new Set(["KafkaJSNumberOfRetriesExceeded", "KafkaJSRequestTimeoutError", "KafkaJSConnectionError"]);
const FENCED_TYPES = new Set(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"]);

interface KafkaishError {
  name?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
}

/** True if retrying the same request later may succeed. */
export function isRetriableKafkaError(error: unknown): boolean {
  if (isFencedError(error)) return false;
  for (let e = error as KafkaishError | undefined, depth = 0; e && depth < 5; e = e.cause as KafkaishError | undefined, depth++) {
    if (e.retriable === false && e.name === "KafkaJSConnectionError") return false;
    if (e.retriable === true || (e.name !== undefined && RETRIABLE_NAMES.has(e.name))) return true;
    // A kafkajs retrier around another (a producer's send around its
    // connection's) reports the inner one giving up as KafkaJSNonRetriableError
    // with the original error as cause: a broker down for a restart. Decided
    // by that cause; a genuinely final error is its own, non-retriable cause.
    if (e.name !== "KafkaJSNonRetriableError" || e.cause === e) return false;
  }
  return false;
}

/** True if the error, or one it wraps, says a newer producer with the same transactional id took over. */
export function isFencedError(error: unknown): boolean {
  for (let e = error as KafkaishError | undefined, depth = 0; e && depth < 5; e = e.cause as KafkaishError | undefined, depth++) {
    if (e.type !== undefined && FENCED_TYPES.has(e.type)) return true;
  }
  return false;
}
