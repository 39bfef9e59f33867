/**
 * The dead-letter route as the engine sees it: a message that cannot be
 * processed or that the sink refuses is handed over with the reason, and
 * counts as accounted for once `send` resolves. The Kafka topic that
 * implements it is lib/sinks/dead-letter-topic.ts.
 *
 * @example
 * await deadLetters.send([{ record, reason: "invalid JSON: Unexpected token", stage: "parse" }]);
 */
import type { SourceRecord } from "./record.ts";

export interface DeadLetter {
  record: SourceRecord;
  reason: string;
  /** Where it failed: parse, process, sink, ... */
  stage: string;
}

export interface DeadLetterTopic {
  readonly topic: string;
  /** Resolves once every letter is acknowledged by all in-sync replicas. */
  send(letters: DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}
