/**
 * In-memory stand-ins for the engine's own interfaces (Source, Sink,
 * TransactionalSink, DeadLetterTopic), for unit tests of lib/engine with no
 * server. They model what the engine relies on: a source re-reads from the
 * committed offset after a rebalance, commits can fail, sinks can be slow,
 * fail transiently, or refuse items.
 *
 * @example
 * const source = new FakeSource({ t: [records(0, 10)] });
 * const sink = new FakeSink();
 * const summary = await runPipeline({ source, sink, processor: writeAll, ...settings() });
 */
import { sleep } from "../../lib/backoff.ts";
import type { DeadLetter, DeadLetterTopic } from "../../lib/engine/dead-letter.ts";
import type { Processor, SourceRecord } from "../../lib/engine/record.ts";
import type { RunSettings } from "../../lib/engine/pipeline.ts";
import type { Sink, SinkResult, SourcePosition, TransactionalSink } from "../../lib/engine/sink.ts";
import type { Assignment, BatchHandler, CommitRequest, CommittedOffset, PartitionLagEntry, Source } from "../../lib/engine/source.ts";
import { silentLogger } from "../../lib/log/logger.ts";

export function records(topic: string, partition: number, count: number, from = 0): SourceRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    topic,
    partition,
    offset: String(from + i),
    key: null,
    value: Buffer.from(`${topic}/${partition}/${from + i}`),
    headers: {},
    timestamp: "1700000000000",
    size: 10,
  }));
}

/** Writes every record's value as a string item. */
export const writeValues: Processor<string> = (record) => ({ kind: "write", item: record.value!.toString() });

export function settings(overrides: Partial<RunSettings> = {}): RunSettings {
  return {
    onError: "stop",
    batchSize: 3,
    untilCaughtUp: true,
    log: silentLogger,
    logInterval: 1_000_000,
    signal: new AbortController().signal,
    ...overrides,
  };
}

const key = (topic: string, partition: number) => `${topic}/${partition}`;

export class FakeSource implements Source {
  readonly name = "fake";
  readonly groupId = "group";
  readonly topics: string[];
  /** Committed next offsets by "topic/partition". */
  readonly committed = new Map<string, number>();
  /** Metadata committed with those offsets. */
  readonly metadata = new Map<string, string>();
  readonly commitLog: CommitRequest[] = [];
  /** Called before each commit; throw to make it fail. */
  failCommit: (request: CommitRequest) => boolean = () => false;
  fetchSize = 100;
  private readonly partitions: Map<string, SourceRecord[]>;
  private readonly positions = new Map<string, number>();
  private owned: Set<string>;
  private currentEpoch = 1;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly crashListeners: ((error: Error) => void)[] = [];
  private readonly assignmentListeners: ((assignment: Assignment) => void)[] = [];

  constructor(data: SourceRecord[][]) {
    this.partitions = new Map(data.map((list) => [key(list[0]!.topic, list[0]!.partition), list]));
    this.topics = [...new Set(data.map((list) => list[0]!.topic))];
    this.owned = new Set(this.partitions.keys());
  }

  async run(handler: BatchHandler): Promise<void> {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let delivered = false;
        for (const [k, list] of this.partitions) {
          if (!this.running) break;
          if (!this.owned.has(k) || this.paused.has(k)) continue;
          const position = this.positions.get(k) ?? this.committed.get(k) ?? 0;
          if (position >= list.length) continue;
          const epoch = this.currentEpoch;
          const seeks = this.seeks.get(k) ?? 0;
          const batch = list.slice(position, position + this.fetchSize);
          const taken = await handler({
            topic: batch[0]!.topic,
            partition: batch[0]!.partition,
            records: batch,
            nextOffset: String(position + batch.length),
            epoch,
            heartbeat: async () => {},
            isActive: () => this.running && this.currentEpoch === epoch && (this.seeks.get(k) ?? 0) === seeks,
          });
          // Like kafkajs: a rebalance meanwhile discards the position (the owner re-reads from the committed offset); a seek replaces it.
          if (this.currentEpoch === epoch && (this.seeks.get(k) ?? 0) === seeks) this.positions.set(k, position + taken);
          if (taken > 0) delivered = true;
        }
        if (!delivered) await sleep(5);
      }
    })();
  }

  async commit(request: CommitRequest): Promise<void> {
    if (this.failCommit(request)) throw new Error("commit refused (test)");
    this.commitLog.push(request);
    this.committed.set(key(request.topic, request.partition), Number(request.offset));
    this.metadata.set(key(request.topic, request.partition), request.metadata ?? "");
  }

  async committedOffset(topic: string, partition: number): Promise<CommittedOffset | undefined> {
    const offset = this.committed.get(key(topic, partition));
    return offset === undefined ? undefined : { offset: String(offset), metadata: this.metadata.get(key(topic, partition)) ?? "" };
  }

  async lag(): Promise<number> {
    return (await this.partitionLag()).reduce((total, p) => total + p.lag, 0);
  }

  async partitionLag(): Promise<PartitionLagEntry[]> {
    const lags: PartitionLagEntry[] = [];
    for (const [k, list] of this.partitions) {
      if (!this.owned.has(k)) continue;
      const [topic, partition] = k.split("/");
      lags.push({ topic: topic!, partition: Number(partition), lag: list.length - (this.committed.get(k) ?? 0) });
    }
    return lags;
  }

  assignment(): Assignment {
    const assignment: Assignment = {};
    for (const k of this.owned) {
      const [topic, partition] = k.split("/") as [string, string];
      (assignment[topic] ??= []).push(Number(partition));
    }
    return assignment;
  }

  epoch(): number {
    return this.currentEpoch;
  }

  /** A rebalance: this member keeps only `keep`; every position restarts from the committed offset. */
  rebalance(keep: { topic: string; partition: number }[]): void {
    this.currentEpoch++;
    this.owned = new Set(keep.map((p) => key(p.topic, p.partition)));
    this.positions.clear();
    for (const listener of this.assignmentListeners) listener(this.assignment());
  }

  /** Partitions paused now, as "topic/partition". */
  readonly paused = new Set<string>();

  pause(topic: string, partition: number): void {
    this.paused.add(key(topic, partition));
  }

  resume(topic: string, partition: number): void {
    this.paused.delete(key(topic, partition));
  }

  /** Seeks by "topic/partition", in order. */
  readonly seekLog: { partition: string; offset: number }[] = [];
  private readonly seeks = new Map<string, number>();

  seek(topic: string, partition: number, offset: string): void {
    const k = key(topic, partition);
    this.positions.set(k, Number(offset));
    this.seeks.set(k, (this.seeks.get(k) ?? 0) + 1);
    this.seekLog.push({ partition: k, offset: Number(offset) });
  }

  crash(error: Error): void {
    for (const listener of this.crashListeners) listener(error);
  }

  onCrash(listener: (error: Error) => void): void {
    this.crashListeners.push(listener);
  }

  onAssignment(listener: (assignment: Assignment) => void): void {
    this.assignmentListeners.push(listener);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  async close(): Promise<void> {}
}

export interface WriteCall {
  items: string[];
  ok: boolean;
}

/** A sink whose behavior per call is scripted; stores what it made durable. */
export class FakeSink implements Sink<string> {
  readonly name = "fake-sink";
  readonly stored: string[] = [];
  readonly calls: WriteCall[] = [];
  /** Runs before each write; may wait (to reorder) or throw (to fail). */
  before: (items: string[], call: number) => Promise<void> = async () => {};
  /** Items refused for good. */
  refuse: (item: string) => string | undefined = () => undefined;

  async write(items: string[]): Promise<SinkResult> {
    const call = this.calls.length;
    const entry = { items, ok: false };
    this.calls.push(entry);
    await this.before(items, call);
    const result: SinkResult = { written: 0, duplicates: 0, rejected: [] };
    items.forEach((item, index) => {
      const reason = this.refuse(item);
      if (reason) result.rejected.push({ index, reason });
      else if (this.stored.includes(item)) result.duplicates++;
      else {
        this.stored.push(item);
        result.written++;
      }
    });
    entry.ok = true;
    return result;
  }

  async close(): Promise<void> {}
}

/**
 * A transactional sink over a FakeSource: a transaction's items become
 * visible (committed) together with the source offset, or not at all.
 */
export class FakeTransactionalSink implements TransactionalSink<string> {
  readonly name = "fake-transactional-sink";
  /** What a read_committed reader sees. */
  readonly committed: string[] = [];
  readonly claims: string[] = [];
  aborted = 0;
  /** Runs after the items are sent, before the commit; throw to abort. */
  midTransaction: (items: string[], call: number) => Promise<void> = async () => {};
  private calls = 0;

  constructor(private readonly source: FakeSource) {}

  async claim(topic: string, partition: number): Promise<void> {
    this.claims.push(`${topic}/${partition}`);
  }

  async writeInTransaction(items: string[], position: SourcePosition, beforeCommit: (result: SinkResult) => Promise<void>): Promise<SinkResult> {
    const result: SinkResult = { written: items.length, duplicates: 0, rejected: [] };
    try {
      await this.midTransaction(items, this.calls++);
      await beforeCommit(result);
    } catch (error) {
      this.aborted++;
      throw error;
    }
    this.committed.push(...items);
    this.source.committed.set(`${position.topic}/${position.partition}`, Number(position.offset));
    this.source.metadata.set(`${position.topic}/${position.partition}`, position.metadata ?? "");
    return result;
  }

  async close(): Promise<void> {}
}

export class FakeDeadLetters implements DeadLetterTopic {
  readonly topic = "dlq";
  readonly letters: DeadLetter[] = [];
  async send(letters: DeadLetter[]): Promise<void> {
    this.letters.push(...letters);
  }
  async close(): Promise<void> {}
}

/** Resolves once `condition` holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
