/**
 * Retries of sink and dead-letter writes: transient failures (one rule, see
 * {@link isTransient}) back off and try again with the same items, until the
 * write succeeds, the run stops, or the outage has lasted longer than the
 * run allows (then {@link SinkOutageError} ends the run, committing nothing
 * that is not durable).
 *
 * @example
 * const result = await retryTransient("write to mongodb", () => sink.write(items), context);
 * if (result === undefined) return; // stopped while the sink was down
 */
import { backoffDelay, sleep, type BackoffOptions } from "../backoff.ts";
import { errorMessage } from "../errors.ts";
import { isRetriableKafkaError } from "../kafka/errors.ts";
import type { Logger } from "../log/logger.ts";
import type { EngineEvents } from "./events.ts";
import { TransientSinkError } from "./sink.ts";

export interface RetryPolicy {
  backoff: BackoffOptions;
  /** Longest an outage is waited out, ms; undefined: as long as the run lasts. */
  maxOutageMs?: number;
}

export interface RetryContext {
  policy: RetryPolicy;
  log: Logger;
  events: EngineEvents;
  /** Name of the sink, for events. */
  sink: string;
  /** True once retrying is pointless (the run is stopping). */
  stopping: () => boolean;
  signal: AbortSignal;
  /** Called at each transient failure (partition pausing counts them). */
  onTransient?: () => void;
  /** Called when an attempt succeeds after transient failures (a paused partition resumes). */
  onRecovered?: () => void;
  /** Shared by the retries of one partition's chunks, so a chunk handed back at a pause does not restart it; default: this retry's own. */
  outage?: OutageClock;
}

/** When an outage began: the first transient failure since the last success. */
export interface OutageClock {
  since?: number;
}

/** An outage outlasted the run's --max-outage. */
export class SinkOutageError extends Error {
  override name = "SinkOutageError";
}

/** The engine's one rule: a sink's TransientSinkError, or a Kafka error worth retrying (dead-letter sends, commits). */
export function isTransient(error: unknown): boolean {
  return error instanceof TransientSinkError || isRetriableKafkaError(error);
}

/** Runs `attempt` until it succeeds; transient failures back off. Undefined if the run stops meanwhile. */
export async function retryTransient<R>(what: string, attempt: () => Promise<R>, context: RetryContext): Promise<R | undefined> {
  const clock = context.outage ?? {};
  for (let failures = 0; ; failures++) {
    try {
      const value = await attempt();
      clock.since = undefined;
      if (failures > 0) {
        context.log.info(`${what} succeeded again`, { after_attempts: failures + 1 });
        context.onRecovered?.();
      }
      return value;
    } catch (error) {
      const transient = isTransient(error);
      context.events.emit("sink.error", { sink: context.sink, what, transient, error: errorMessage(error) });
      if (!transient) throw error;
      context.onTransient?.();
      if (context.stopping()) return undefined;
      clock.since ??= performance.now();
      const outageMs = performance.now() - clock.since;
      const { maxOutageMs } = context.policy;
      if (maxOutageMs !== undefined && outageMs >= maxOutageMs) {
        throw new SinkOutageError(
          `${what} kept failing for ${Math.round(outageMs / 1000)} s (--max-outage ${Math.round(maxOutageMs / 1000)} s): ${errorMessage(error)}`,
          { cause: error },
        );
      }
      let delay = backoffDelay(failures, context.policy.backoff);
      if (maxOutageMs !== undefined) delay = Math.max(0, Math.min(delay, maxOutageMs - outageMs));
      context.events.emit("retry", { what, attempt: failures + 1, delayMs: delay, outageMs, error: errorMessage(error) });
      context.log.warn(`${what} failed; retrying`, { attempt: failures + 1, retry_in_ms: delay, error: errorMessage(error) });
      await sleep(delay, context.signal);
      if (context.signal.aborted) return undefined;
    }
  }
}
