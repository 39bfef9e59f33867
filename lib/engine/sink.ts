/**
 * The contract every output implements. Adding a sink (MongoDB, Kafka, SQL)
 * means one file that implements {@link Sink}; the engine does the rest.
 *
 * @example
 * const sink: Sink<Doc> = {
 *   name: "mongodb",
 *   async write(items) { await insert(items); return { written: items.length, duplicates: 0, rejected: [] }; },
 *   async close() {},
 * };
 */

export interface SinkResult {
  /** Items newly made durable. */
  written: number;
  /** Items already durable from an earlier delivery (idempotent redelivery). */
  duplicates: number;
  /** Items the sink refuses for good, by index in the batch; they go to the dead-letter topic. */
  rejected: { index: number; reason: string }[];
}

export interface Sink<T> {
  readonly name: string;
  /**
   * Makes every item durable, or reports it as duplicate or rejected. Must
   * resolve only when the items are durable. Throw {@link TransientSinkError}
   * for outages the engine should wait out; any other error stops the run.
   */
  write(items: T[]): Promise<SinkResult>;
  close(): Promise<void>;
}

/** The sink is unreachable or overloaded; retrying the same batch later may succeed. */
export class TransientSinkError extends Error {
  override name = "TransientSinkError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
