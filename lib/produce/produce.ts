/**
 * Produces a stream of generated messages as fast as the broker allows, or
 * at a target rate: batches of many messages (split to stay under the
 * broker's message size limit), several batches in flight, each retried with
 * exponential backoff. Stops at a count, after a duration, on the signal, or
 * when a batch fails for good.
 *
 * @example
 * const summary = await produceMessages({
 *   producer, topic: "logins", nextBatch: (n) => generator.batch(n),
 *   total: 200_000, batchSize: 1000, maxInFlight: 8, acks: -1,
 *   compression: CompressionTypes.None,
 *   retry: { retries: 3, initialDelayMs: 1000, maxDelayMs: 30_000 }, log,
 * });
 * summary.sent; // 200000
 */
import type { CompressionTypes, Message, Producer } from "kafkajs";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { pacingDelayMs } from "./pacing.ts";
import { retryWithBackoff } from "./retry.ts";
import { sleep } from "../backoff.ts";

export type Acks = -1 | 0 | 1;
export type StopReason = "count" | "duration" | "signal" | "failure";

export interface ProduceOptions {
  producer: Pick<Producer, "send">;
  topic: string;
  nextBatch: (count: number) => Message[];
  /** Messages to produce; undefined for no limit. */
  total?: number;
  durationMs?: number;
  batchSize: number;
  ratePerSec?: number;
  /** Batches awaiting acknowledgement at once; more hides broker round trips. */
  maxInFlight: number;
  /** Largest send in bytes; see {@link DEFAULT_MAX_SEND_BYTES}. */
  maxSendBytes?: number;
  acks: Acks;
  compression: CompressionTypes;
  retry: { retries: number; initialDelayMs: number; maxDelayMs: number };
  signal?: AbortSignal;
  log: Logger;
  /** Called as batches are acknowledged, e.g. for progress lines. */
  onAcknowledged?: (messages: number, bytes: number) => void;
  /** Called before each retry of a send, e.g. for metrics. */
  onRetry?: () => void;
  /** Called when a batch failed for good, with its message count. */
  onFailed?: (messages: number) => void;
}

export interface ProduceSummary {
  sent: number;
  failed: number;
  bytes: number;
  retries: number;
  elapsedMs: number;
  messagesPerSec: number;
  stoppedBy: StopReason;
  lastError?: string;
}

/**
 * The broker refuses a record batch above message.max.bytes (1 MiB by
 * default), and one send may land on a single partition as one batch.
 */
export const DEFAULT_MAX_SEND_BYTES = 800_000;

export async function produceMessages(options: ProduceOptions): Promise<ProduceSummary> {
  const { producer, topic, signal, log } = options;
  const startedAt = Date.now();
  const inFlight = new Set<Promise<void>>();
  let handedOver = 0;
  let sent = 0;
  let failed = 0;
  let bytes = 0;
  let retries = 0;
  let lastError: string | undefined;

  const sendBatch = async ({ messages, bytes: size }: SendChunk) => {
    try {
      await retryWithBackoff(
        () => producer.send({ topic, messages, acks: options.acks, compression: options.compression }),
        {
          ...options.retry,
          signal,
          isRetriable,
          onRetry: (attempt, delayMs, error) => {
            retries++;
            options.onRetry?.();
            log.warn("send failed, retrying", { attempt, delay_ms: delayMs, messages: messages.length, error: errorMessage(error) });
          },
        },
      );
      sent += messages.length;
      bytes += size;
      options.onAcknowledged?.(messages.length, size);
    } catch (error) {
      failed += messages.length;
      options.onFailed?.(messages.length);
      lastError = errorMessage(error);
      log.error("batch failed after retries", { messages: messages.length, error: lastError });
    }
  };

  const stopReason = (): StopReason | undefined => {
    if (lastError !== undefined) return "failure";
    if (signal?.aborted) return "signal";
    if (options.total !== undefined && handedOver >= options.total) return "count";
    if (options.durationMs !== undefined && Date.now() - startedAt >= options.durationMs) return "duration";
    return undefined;
  };

  let stoppedBy: StopReason | undefined;
  while ((stoppedBy = stopReason()) === undefined) {
    if (options.ratePerSec !== undefined) {
      await sleep(pacingDelayMs({ startedAt, now: Date.now(), sent: handedOver, ratePerSec: options.ratePerSec }), signal);
      if ((stoppedBy = stopReason()) !== undefined) break;
    }
    const count = Math.min(options.batchSize, (options.total ?? Infinity) - handedOver);
    handedOver += count;
    for (const chunk of splitByBytes(options.nextBatch(count), options.maxSendBytes ?? DEFAULT_MAX_SEND_BYTES)) {
      const pending: Promise<void> = sendBatch(chunk).finally(() => inFlight.delete(pending));
      inFlight.add(pending);
      if (inFlight.size >= options.maxInFlight) await Promise.race(inFlight);
    }
  }
  await Promise.all(inFlight);
  // A failure in the last batches is only known once they settle.
  if (lastError !== undefined) stoppedBy = "failure";

  const elapsedMs = Math.max(1, Date.now() - startedAt);
  return {
    sent,
    failed,
    bytes,
    retries,
    elapsedMs,
    messagesPerSec: Math.round((sent * 1000) / elapsedMs),
    stoppedBy,
    ...(lastError !== undefined ? { lastError } : {}),
  };
}

export interface SendChunk {
  messages: Message[];
  /** Key and value bytes, as reported in summaries. */
  bytes: number;
}

/** Consecutive runs of messages of at most `maxBytes` each (a bigger message goes alone). */
export function splitByBytes(messages: Message[], maxBytes: number): SendChunk[] {
  const chunks: SendChunk[] = [];
  let current: SendChunk = { messages: [], bytes: 0 };
  let limitBytes = 0;
  for (const message of messages) {
    const payload = partBytes(message.key) + partBytes(message.value);
    const size = payload + headerBytes(message) + RECORD_OVERHEAD_BYTES;
    if (current.messages.length > 0 && limitBytes + size > maxBytes) {
      chunks.push(current);
      current = { messages: [], bytes: 0 };
      limitBytes = 0;
    }
    current.messages.push(message);
    current.bytes += payload;
    limitBytes += size;
  }
  if (current.messages.length > 0) chunks.push(current);
  return chunks;
}

// Length varints, attributes, timestamp and offset deltas of one record.
const RECORD_OVERHEAD_BYTES = 21;

function partBytes(part: Buffer | string | null | undefined): number {
  return part == null ? 0 : typeof part === "string" ? Buffer.byteLength(part) : part.length;
}

function headerBytes(message: Message): number {
  let total = 0;
  for (const [key, value] of Object.entries(message.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) total += Buffer.byteLength(key) + partBytes(v) + 2;
  }
  return total;
}

// Only protocol errors say for sure that a retry fails the same way (e.g. a
// message too large); connection errors surface wrapped and are worth retrying.
function isRetriable(error: unknown): boolean {
  const e = error as { name?: string; retriable?: boolean };
  return !(e.name === "KafkaJSProtocolError" && e.retriable === false);
}
