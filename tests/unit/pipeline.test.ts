/**
 * The engine's behavior with in-memory sources and sinks (no Kafka): commit
 * order, retries, poison handling, --max-messages, rebalances, failed
 * commits, draining, transactions and outage limits.
 */
import { describe, expect, test } from "bun:test";
import { sleep } from "../../lib/backoff.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { EngineEvents } from "../../lib/engine/events.ts";
import { IncompleteCommitError, PoisonMessageError, runPipeline, SinkOutageError } from "../../lib/engine/pipeline.ts";
import type { Processor } from "../../lib/engine/record.ts";
import type { PartitionState } from "../../lib/engine/partition-state.ts";
import { SinkFencedError, TransientSinkError } from "../../lib/engine/sink.ts";
import {
  FakeDeadLetters,
  FakeSink,
  FakeSource,
  FakeTransactionalSink,
  records,
  settings,
  waitFor,
  writeValues,
} from "../helpers/fake-pipeline.ts";

const FAST_RETRY = { initialMs: 1, maxMs: 5 };

/** Offsets committed per partition, in commit order. */
function commitsOf(source: FakeSource, partition = 0): number[] {
  return source.commitLog.filter((c) => c.partition === partition).map((c) => Number(c.offset));
}

function deadAt(offsets: number[]): Processor<string> {
  return (record) =>
    offsets.includes(Number(record.offset)) ? { kind: "dead", reason: "bad record (test)", stage: "parse" } : writeValues(record);
}

describe("runPipeline with a fake source and sink", () => {
  test("chunks finishing out of order are committed in offset order", async () => {
    const source = new FakeSource([records("t", 0, 9)]);
    const sink = new FakeSink();
    // The first chunk is the slowest, so the second finishes first.
    sink.before = async (_items, call) => sleep(call === 0 ? 60 : 1);
    const summary = await runPipeline({ source, sink, processor: writeValues, sinkConcurrency: 3, ...settings() });
    expect(summary.stoppedBy).toBe("caught-up");
    expect(summary.committed).toBe(9);
    const commits = commitsOf(source);
    expect(commits).toEqual([...commits].sort((a, b) => a - b));
    expect(commits.at(-1)).toBe(9);
    expect(sink.stored).toHaveLength(9);
  });

  test("transient sink failures are retried with the same items until durable", async () => {
    const source = new FakeSource([records("t", 0, 6)]);
    const sink = new FakeSink();
    sink.before = async (_items, call) => {
      if (call < 2) throw new TransientSinkError("down (test)");
    };
    const events = new EngineEvents();
    const retries: number[] = [];
    events.on("retry", (e) => retries.push(e.attempt));
    const summary = await runPipeline({ source, sink, processor: writeValues, sinkConcurrency: 1, retry: FAST_RETRY, events, ...settings() });
    expect(summary.committed).toBe(6);
    expect(sink.stored).toEqual(records("t", 0, 6).map((r) => r.value!.toString()));
    expect(retries).toEqual([1, 2]);
    expect(sink.calls[0]!.items).toEqual(sink.calls[2]!.items);
  });

  test("a poison record under 'stop' ends the run with nothing committed from it on", async () => {
    const source = new FakeSource([records("t", 0, 9)]);
    const sink = new FakeSink();
    const summary = await runPipeline({ source, sink, processor: deadAt([4]), sinkConcurrency: 1, ...settings({ onError: "stop" }) });
    expect(summary.stoppedBy).toBe("error");
    expect(summary.error).toBeInstanceOf(PoisonMessageError);
    expect(summary.error!.message).toContain("t/0@4");
    expect(source.committed.get("t/0")).toBe(4);
    expect(summary.committed).toBe(4);
  });

  test("a poison record under 'dlq' is dead-lettered and the run goes on", async () => {
    const source = new FakeSource([records("t", 0, 9)]);
    const sink = new FakeSink();
    sink.refuse = (item) => (item.endsWith("/7") ? "too large (test)" : undefined);
    const deadLetters = new FakeDeadLetters();
    const summary = await runPipeline({ source, sink, deadLetters, processor: deadAt([4]), ...settings({ onError: "dlq" }) });
    expect(summary.committed).toBe(9);
    expect(summary.deadLettered).toBe(2);
    expect(deadLetters.letters.map((l) => [l.record.offset, l.stage])).toEqual([
      ["4", "parse"],
      ["7", "sink"],
    ]);
    expect(source.committed.get("t/0")).toBe(9);
  });

  test("--max-messages commits exactly N and stops", async () => {
    const source = new FakeSource([records("t", 0, 20)]);
    const sink = new FakeSink();
    const summary = await runPipeline({ source, sink, processor: writeValues, ...settings({ untilCaughtUp: false, maxMessages: 7 }) });
    expect(summary.stoppedBy).toBe("max-messages");
    expect(summary.committed).toBe(7);
    expect(summary.consumed).toBe(7);
    expect(source.committed.get("t/0")).toBe(7);
    expect(sink.stored).toHaveLength(7);
  });

  test("a failed commit is not counted as committed; --max-messages fails unless N were committed (issue 9, 4g)", async () => {
    const source = new FakeSource([records("t", 0, 20)]);
    source.failCommit = () => true;
    const sink = new FakeSink();
    const summary = await runPipeline({
      source,
      sink,
      processor: writeValues,
      retry: FAST_RETRY,
      ...settings({ untilCaughtUp: false, maxMessages: 5 }),
    });
    expect(summary.committed).toBe(0);
    expect(summary.stoppedBy).toBe("error");
    expect(summary.error).toBeInstanceOf(IncompleteCommitError);
  });

  test("a commit that fails once is covered by the next commit of its partition", async () => {
    const source = new FakeSource([records("t", 0, 9)]);
    let failures = 0;
    source.failCommit = () => failures++ === 0;
    const sink = new FakeSink();
    const summary = await runPipeline({ source, sink, processor: writeValues, sinkConcurrency: 1, ...settings() });
    expect(summary.committed).toBe(9);
    expect(source.committed.get("t/0")).toBe(9);
  });

  test("a chunk being written when its partition is revoked is not committed by this member (issue 9, 4h)", async () => {
    const source = new FakeSource([records("t", 0, 6), records("t", 1, 6)]);
    const sink = new FakeSink();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    sink.before = async (items) => {
      if (items[0] === "t/0/0") await released;
    };
    const stop = new AbortController();
    const running = runPipeline({
      source,
      sink,
      processor: writeValues,
      sinkConcurrency: 2,
      ...settings({ untilCaughtUp: false, signal: stop.signal }),
    });
    await waitFor("the first chunk of t/0 to reach the sink", () => sink.calls.some((c) => c.items[0] === "t/0/0"));
    source.rebalance([{ topic: "t", partition: 1 }]);
    release();
    await waitFor("t/1 to be committed to its end", () => source.committed.get("t/1") === 6);
    stop.abort();
    const summary = await running;
    expect(commitsOf(source, 0)).toEqual([]);
    expect(source.committed.get("t/0")).toBeUndefined();
    expect(summary.committed).toBe(6);
  });

  test("chunks still queued for a revoked partition are not committed (issue 9, 4h)", async () => {
    const source = new FakeSource([records("t", 0, 30)]);
    const sink = new FakeSink();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    sink.before = async () => released;
    const stop = new AbortController();
    const running = runPipeline({ source, sink, processor: writeValues, sinkConcurrency: 1, ...settings({ untilCaughtUp: false, signal: stop.signal }) });
    await waitFor("chunks to queue up behind the blocked write", () => sink.calls.length === 1);
    await sleep(20);
    source.rebalance([]);
    release();
    await sleep(50);
    stop.abort();
    const summary = await running;
    expect(source.commitLog).toEqual([]);
    expect(summary.committed).toBe(0);
  });

  test("a signal stops consuming, drains what was consumed, commits it, and stops", async () => {
    const source = new FakeSource([records("t", 0, 30)]);
    const sink = new FakeSink();
    const stop = new AbortController();
    sink.before = async (_items, call) => {
      if (call === 0) {
        stop.abort();
        await sleep(30);
      }
    };
    const summary = await runPipeline({ source, sink, processor: writeValues, sinkConcurrency: 1, ...settings({ untilCaughtUp: false, signal: stop.signal }) });
    expect(summary.stoppedBy).toBe("signal");
    expect(summary.committed).toBeGreaterThanOrEqual(3);
    expect(summary.committed).toBeLessThan(30);
    expect(summary.committed).toBe(summary.consumed);
    expect(source.committed.get("t/0")).toBe(summary.committed);
    expect(sink.stored).toHaveLength(summary.committed);
  });

  test("an outage longer than --max-outage ends the run with nothing uncommitted counted", async () => {
    const source = new FakeSource([records("t", 0, 6)]);
    const sink = new FakeSink();
    sink.before = async () => {
      throw new TransientSinkError("down (test)");
    };
    const summary = await runPipeline({
      source,
      sink,
      processor: writeValues,
      retry: FAST_RETRY,
      ...settings({ maxOutageMs: 50 }),
    });
    expect(summary.stoppedBy).toBe("error");
    expect(summary.error).toBeInstanceOf(SinkOutageError);
    expect(summary.committed).toBe(0);
    expect(source.commitLog).toEqual([]);
  });

  test("a partition whose writes keep failing is paused while the others flow, then resumes", async () => {
    // One chunk of partition 0, so one writer retries it while the other writes partition 1.
    const source = new FakeSource([records("t", 0, 3), records("t", 1, 30)]);
    const sink = new FakeSink();
    let t0Failures = 0;
    let t1WhilePaused = 0;
    sink.before = async (items) => {
      if (items[0]!.startsWith("t/0/") && t0Failures < 10) {
        t0Failures++;
        throw new TransientSinkError("partition 0's leader is away (test)");
      }
      if (items[0]!.startsWith("t/1/")) {
        await Bun.sleep(25); // partition 1's writes outlast partition 0's failures
        if (source.paused.has("t/0")) t1WhilePaused += items.length;
      }
    };
    const events = new EngineEvents();
    const paused: string[] = [];
    events.on("partition.paused", (e) => paused.push(`${e.topic}/${e.partition}`));
    const summary = await runPipeline({
      source,
      sink,
      processor: writeValues,
      retry: { initialMs: 20, maxMs: 20 },
      pausePolicy: { failures: 3, windowMs: 60_000, pauseMs: 150 },
      events,
      ...settings(),
    });
    // Each resume reads partition 0 again, which fails again until its 10 failures are spent: paused once or more, only it.
    expect(new Set(paused)).toEqual(new Set(["t/0"]));
    expect(t1WhilePaused).toBeGreaterThan(0);
    expect(summary.committed).toBe(33);
    expect(source.paused.size).toBe(0);
  });

  test("a paused partition frees the writers and the queue: the others land everything, then it lands exactly once, in order", async () => {
    const source = new FakeSource([records("t", 0, 30), records("t", 1, 60)]);
    source.fetchSize = 6;
    const sink = new FakeSink();
    let healed = false;
    sink.before = async (items) => {
      if (items[0]!.startsWith("t/0/") && !healed) throw new TransientSinkError("partition 0's documents are refused for now (test)");
    };
    const events = new EngineEvents();
    const paused: string[] = [];
    events.on("partition.paused", (e) => paused.push(`${e.topic}/${e.partition}`));
    const stop = new AbortController();
    const running = runPipeline({
      source,
      sink,
      processor: writeValues,
      retry: { initialMs: 5, maxMs: 5 },
      pausePolicy: { failures: 3, windowMs: 60_000, pauseMs: 100 },
      events,
      ...settings({ signal: stop.signal }),
    });
    const landed = (partition: number) => sink.stored.filter((item) => item.startsWith(`t/${partition}/`)).length;
    try {
      // Before the fix both writers kept retrying partition 0's chunks and its chunks filled the queue.
      await waitFor("partition 1 to land all 60 records while partition 0 fails", () => landed(1) === 60, 10_000);
      expect(paused).toContain("t/0");
      expect(landed(0)).toBe(0);
      healed = true;
      await waitFor("partition 0 to land all 30 records once healed", () => landed(0) === 30, 10_000);
    } catch (error) {
      stop.abort();
      await running;
      throw error;
    }
    const summary = await running; // --until-caught-up ends it
    expect(summary.stoppedBy).toBe("caught-up");
    expect(paused.every((p) => p === "t/0")).toBe(true);
    expect(summary.duplicates).toBe(0);
    expect(sink.calls.filter((c) => c.ok).flatMap((c) => c.items).sort()).toEqual([...sink.stored].sort());
    expect(sink.stored.length).toBe(90);
    for (const [partition, end] of [[0, 30], [1, 60]] as const) {
      const commits = commitsOf(source, partition);
      expect(commits.every((offset, i) => i === 0 || offset > commits[i - 1]!)).toBe(true);
      expect(commits.at(-1)).toBe(end);
    }
  }, 30_000);

  test("a partition whose writes never succeed still ends the run at --max-outage, although each pause hands its chunks back", async () => {
    const source = new FakeSource([records("t", 0, 6), records("t", 1, 60)]);
    source.fetchSize = 6;
    const sink = new FakeSink();
    sink.before = async (items) => {
      if (items[0]!.startsWith("t/0/")) throw new TransientSinkError("partition 0's documents are refused (test)");
    };
    const stop = new AbortController();
    const bound = setTimeout(() => stop.abort(), 10_000);
    const summary = await runPipeline({
      source,
      sink,
      processor: writeValues,
      retry: { initialMs: 5, maxMs: 5 },
      // Pauses far shorter than the outage limit: only a clock that survives them ends the run.
      pausePolicy: { failures: 2, windowMs: 60_000, pauseMs: 20 },
      ...settings({ maxOutageMs: 400, signal: stop.signal }),
    });
    clearTimeout(bound);
    expect(summary.stoppedBy).toBe("error");
    expect(summary.error).toBeInstanceOf(SinkOutageError);
    expect(commitsOf(source, 0)).toEqual([]);
  }, 30_000);

  test("after an outage of the whole sink, paused partitions resume once their writes succeed again, not after the pause", async () => {
    const source = new FakeSource([records("t", 0, 30), records("t", 1, 30)]);
    source.fetchSize = 6;
    const sink = new FakeSink();
    let outage = 10;
    sink.before = async () => {
      if (outage-- > 0) throw new TransientSinkError("server down (test)");
    };
    const events = new EngineEvents();
    const paused: string[] = [];
    events.on("partition.paused", (e) => paused.push(`${e.topic}/${e.partition}`));
    const started = performance.now();
    const summary = await runPipeline({
      source,
      sink,
      processor: writeValues,
      retry: { initialMs: 5, maxMs: 5 },
      // A pause far longer than the test may take: only an early resume lets the run end.
      pausePolicy: { failures: 2, windowMs: 60_000, pauseMs: 60_000 },
      events,
      ...settings(),
    });
    expect(paused.length).toBeGreaterThan(0);
    expect(summary.committed).toBe(60);
    expect(source.paused.size).toBe(0);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  test("events report committed chunks with counts, bytes and latency", async () => {
    const source = new FakeSource([records("t", 0, 7)]);
    const events = new EngineEvents();
    const committed: { records: number; bytes: number; latencyMs: number }[] = [];
    events.on("chunk.committed", (e) => committed.push(e));
    const commits: string[] = [];
    events.on("commit", (e) => commits.push(e.offset));
    await runPipeline({ source, sink: new FakeSink(), processor: writeValues, events, sinkConcurrency: 1, ...settings() });
    expect(committed.map((c) => c.records)).toEqual([3, 3, 1]);
    expect(committed.every((c) => c.bytes === c.records * 10 && c.latencyMs >= 0)).toBe(true);
    expect(commits).toEqual(["3", "6", "7"]);
  });
});

describe("runPipeline with the transaction strategy", () => {
  test("an aborted transaction is retried; a reader of committed data sees every item once", async () => {
    const source = new FakeSource([records("t", 0, 9)]);
    const sink = new FakeTransactionalSink(source);
    sink.midTransaction = async (_items, call) => {
      if (call === 1) throw new TransientSinkError("broker went away mid-transaction (test)");
    };
    const summary = await runPipeline({ source, sink, processor: writeValues, retry: FAST_RETRY, commitStrategy: "transaction", ...settings() });
    expect(summary.committed).toBe(9);
    expect(sink.aborted).toBe(1);
    expect(sink.committed).toEqual(records("t", 0, 9).map((r) => r.value!.toString()));
    expect(source.committed.get("t/0")).toBe(9);
    expect(source.commitLog).toEqual([]);
    expect(sink.claims).toEqual(["t/0"]);
  });

  test("its one writer is freed by a pause too: the other partition flows; healed, every item is committed once, in order", async () => {
    const source = new FakeSource([records("t", 0, 12), records("t", 1, 30)]);
    source.fetchSize = 6;
    const sink = new FakeTransactionalSink(source);
    let healed = false;
    sink.midTransaction = async (items) => {
      if (items[0]!.startsWith("t/0/") && !healed) throw new TransientSinkError("partition 0's transaction is refused for now (test)");
    };
    const stop = new AbortController();
    const running = runPipeline({
      source,
      sink,
      processor: writeValues,
      retry: { initialMs: 5, maxMs: 5 },
      pausePolicy: { failures: 3, windowMs: 60_000, pauseMs: 100 },
      commitStrategy: "transaction",
      ...settings({ signal: stop.signal }),
    });
    const landed = (partition: number) => sink.committed.filter((item) => item.startsWith(`t/${partition}/`)).length;
    try {
      await waitFor("partition 1 to be committed while partition 0 fails", () => landed(1) === 30, 10_000);
      expect(landed(0)).toBe(0);
      healed = true;
    } catch (error) {
      stop.abort();
      await running;
      throw error;
    }
    const summary = await running;
    expect(summary.stoppedBy).toBe("caught-up");
    expect(summary.committed).toBe(42);
    expect([...sink.committed].sort()).toEqual([...records("t", 0, 12), ...records("t", 1, 30)].map((r) => r.value!.toString()).sort());
    expect(sink.committed.filter((item) => item.startsWith("t/0/"))).toEqual(records("t", 0, 12).map((r) => r.value!.toString()));
  }, 30_000);

  test("records a previous owner committed are dropped after claiming the partition", async () => {
    const source = new FakeSource([records("t", 0, 9)]);
    const sink = new FakeTransactionalSink(source);
    // A fenced member's last transaction committed up to 4 after this member fetched from 0.
    sink.claim = async () => void source.committed.set("t/0", 4);
    const summary = await runPipeline({ source, sink, processor: writeValues, commitStrategy: "transaction", ...settings() });
    expect(sink.committed).toEqual(records("t", 0, 9, 0).slice(4).map((r) => r.value!.toString()));
    expect(summary.committed).toBe(5);
  });

  test("a poison record under 'stop' aborts its chunk's transaction", async () => {
    const source = new FakeSource([records("t", 0, 9)]);
    const sink = new FakeTransactionalSink(source);
    const summary = await runPipeline({ source, sink, processor: deadAt([4]), commitStrategy: "transaction", ...settings({ onError: "stop" }) });
    expect(summary.error).toBeInstanceOf(PoisonMessageError);
    expect(sink.committed).toEqual(["t/0/0", "t/0/1", "t/0/2"]);
    expect(source.committed.get("t/0")).toBe(3);
    expect(summary.committed).toBe(3);
  });
});

describe("the terminal's status line during a run", () => {
  test("shows the lag, measured while the run is busy, and the time left to catch up", async () => {
    // About 2 s of writing: the status line's rate is measured each second.
    const source = new FakeSource([records("t", 0, 60)]);
    const sink = new FakeSink();
    sink.before = () => sleep(100);
    const lines: string[] = [];
    const terminalLogger = { ...silentLogger, progress: (_message: string, _fields: unknown, status: string) => void lines.push(status), status: (text: string) => void lines.push(text) };
    const summary = await runPipeline({
      source,
      sink,
      processor: writeValues,
      sinkConcurrency: 1,
      ...settings({ log: terminalLogger, logInterval: 3, logIntervalMs: 50 }),
    });
    expect(summary.committed).toBe(60);
    // The lag is known before the run catches up (not only once it is idle), and with a rate, the time left.
    expect(lines.some((l) => /lag [1-9][\d,]*/.test(l))).toBe(true);
    expect(lines.some((l) => /caught up in \d+s/.test(l))).toBe(true);
  });
});

/**
 * A partition state that counts records per partition: each chunk writes one
 * "count=<n>" item and commits the running count as offset metadata; a stop
 * flushes "final=<n>".
 */
function countingState() {
  const counts = new Map<string, number>();
  const restored: string[] = [];
  const state: PartitionState<string> = {
    restore(topic, partition, committed) {
      restored.push(`${topic}/${partition}@${committed?.offset ?? "none"}:${committed?.metadata ?? ""}`);
      counts.set(`${topic}/${partition}`, Number(committed?.metadata || 0));
    },
    prepare(chunk) {
      const key = `${chunk.topic}/${chunk.partition}`;
      const next = (counts.get(key) ?? 0) + chunk.records.length;
      return { items: [`count=${next}`], metadata: String(next), apply: () => counts.set(key, next) };
    },
    flush(topic, partition) {
      const key = `${topic}/${partition}`;
      const count = counts.get(key) ?? 0;
      return count ? { items: [`final=${count}`], metadata: "", apply: () => counts.set(key, 0) } : undefined;
    },
  };
  return { state, restored };
}

describe("runPipeline with a partition state", () => {
  for (const strategy of ["offsets", "transaction"] as const) {
    test(`${strategy}: state items go with each chunk, its metadata with each offset, a retried write does not count twice, a stop flushes`, async () => {
      const source = new FakeSource([records("t", 0, 7)]);
      const { state, restored } = countingState();
      let calls = 0;
      const fail = async () => {
        if (calls++ === 1) throw new TransientSinkError("broker went away (test)");
      };
      const sink = strategy === "transaction" ? new FakeTransactionalSink(source) : new FakeSink();
      if (sink instanceof FakeTransactionalSink) sink.midTransaction = fail;
      else sink.before = fail;
      const summary = await runPipeline({
        source, sink, processor: writeValues, partitionState: state, retry: FAST_RETRY, commitStrategy: strategy, ...settings({ onError: "dlq" }),
        deadLetters: new FakeDeadLetters(),
      });
      expect(summary.committed).toBe(7);
      const written = sink instanceof FakeTransactionalSink ? sink.committed : sink.stored;
      expect(written.filter((item) => /^(count|final)=/.test(item))).toEqual(["count=3", "count=6", "count=7", "final=7"]);
      expect(source.metadata.get("t/0")).toBe("");
      expect(source.committed.get("t/0")).toBe(7);
      expect(restored).toEqual(["t/0@none:"]);
    });
  }

  test("a member fenced on a partition hands its chunks back and never re-claims it in the same epoch", async () => {
    const source = new FakeSource([records("t", 0, 9)]);
    const sink = new FakeTransactionalSink(source);
    sink.midTransaction = async (_items, call) => {
      if (call === 1) throw new SinkFencedError("fenced by a newer producer (test)");
    };
    const { state } = countingState();
    const run = runPipeline({
      source, sink, processor: writeValues, partitionState: state, commitStrategy: "transaction",
      ...settings({ onError: "dlq", untilCaughtUp: false }), deadLetters: new FakeDeadLetters(),
    });
    await waitFor("the fenced chunk and the ones after it to be handed back", () => sink.claims.length === 1 && source.committed.get("t/0") === 3 && sink.committed.length === 4);
    await sleep(50);
    expect(sink.claims).toEqual(["t/0"]);
    // The rebalance the zombie's rejoining causes: a new epoch, claimed afresh from the committed offset.
    source.rebalance([{ topic: "t", partition: 0 }]);
    await waitFor("the new epoch to commit everything", () => source.committed.get("t/0") === 9);
    expect(sink.claims).toEqual(["t/0", "t/0"]);
    source.crash(new Error("end of test"));
    await run;
    expect(sink.committed.filter((item) => !item.startsWith("count="))).toEqual(records("t", 0, 9).map((r) => r.value!.toString()));
  });
});
