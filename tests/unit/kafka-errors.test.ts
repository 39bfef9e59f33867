import { describe, expect, test } from "bun:test";
import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from "kafkajs";
import { isRetriableKafkaError } from "../../lib/kafka/errors.ts";

/** What kafkajs' retrier throws for an error it will not retry: `new KafkaJSNonRetriableError(e, { cause: e.cause || e })`. */
function gaveUp(error: Error & { cause?: unknown }): Error {
  const Wrapper = KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: unknown }) => Error;
  return new Wrapper(error, { cause: error.cause || error });
}

describe("isRetriableKafkaError", () => {
  const refused = () => new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:9092", { code: "ECONNREFUSED" });

  test("a broker that is away: the connection error and kafkajs giving up on it", () => {
    expect(isRetriableKafkaError(refused())).toBe(true);
    expect(isRetriableKafkaError(new KafkaJSNumberOfRetriesExceeded(refused(), { retryCount: 5, retryTime: 10_000 }))).toBe(true);
  });

  test("a producer's send during a broker restart: the outer retrier wraps the inner one's giving up", () => {
    // The connection's retrier gives up (NumberOfRetriesExceeded, not retriable
    // itself); the send's retrier then rejects with KafkaJSNonRetriableError
    // whose cause is the original connection error.
    const inner = new KafkaJSNumberOfRetriesExceeded(refused(), { retryCount: 5, retryTime: 10_000 });
    expect(isRetriableKafkaError(gaveUp(inner))).toBe(true);
  });

  test("final errors stay final, wrapped or not", () => {
    const denied = Object.assign(new KafkaJSProtocolError("Not authorized to access topics"), { retriable: false });
    expect(isRetriableKafkaError(denied)).toBe(false);
    expect(isRetriableKafkaError(gaveUp(denied))).toBe(false);
    const tls = Object.assign(refused(), { retriable: false });
    expect(isRetriableKafkaError(gaveUp(tls))).toBe(false);
    expect(isRetriableKafkaError(new Error("boom"))).toBe(false);
  });

  test("a fenced producer is never retried", () => {
    const fenced = Object.assign(new KafkaJSProtocolError("fenced"), { type: "PRODUCER_FENCED", retriable: false });
    expect(isRetriableKafkaError(gaveUp(fenced))).toBe(false);
  });
});
