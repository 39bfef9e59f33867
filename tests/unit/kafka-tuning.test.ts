import { describe, expect, test } from "bun:test";
import type { Producer, ProducerBatch, RecordMetadata } from "kafkajs";
import { consumerOptions, splitByBytes, tunedProducer } from "../../lib/kafka/tuning.ts";

/** The parts of a kafkajs producer tunedProducer uses, recording each request. */
function recordingProducer(fail = false) {
  const requests: ProducerBatch[] = [];
  const producer = {
    sendBatch: async (batch: ProducerBatch): Promise<RecordMetadata[]> => {
      requests.push(batch);
      if (fail) throw new Error("broker said no");
      return [{ topicName: batch.topicMessages![0]!.topic, partition: 0, errorCode: 0 }];
    },
  } as unknown as Producer;
  return { producer, requests };
}

const messages = (n: number, bytes = 10) => Array.from({ length: n }, (_, i) => ({ key: null, value: "v".repeat(bytes - 1) + (i % 10) }));

describe("consumer tuning", () => {
  test("maps section keys onto kafkajs options and leaves unset ones out", () => {
    expect(consumerOptions({ fetchMaxBytes: 1000, maxPartitionFetchBytes: 500, sessionTimeoutMs: 45_000 })).toEqual({
      maxBytes: 1000,
      maxBytesPerPartition: 500,
      sessionTimeout: 45_000,
    });
    expect(consumerOptions({})).toEqual({});
  });
});

describe("producer batch size", () => {
  test("splits a send into requests of at most batch_size bytes, in order", () => {
    const requests = splitByBytes([{ topic: "a", messages: messages(5) }, { topic: "b", messages: messages(2) }], 25);
    expect(requests.map((r) => r.map((t) => `${t.topic}:${t.messages.length}`))).toEqual([["a:2"], ["a:2"], ["a:1", "b:1"], ["b:1"]]);
    expect(requests.flat().flatMap((t) => t.messages.map((m) => m.value))).toEqual([...messages(5), ...messages(2)].map((m) => m.value));
  });

  test("a message larger than batch_size goes alone; no limit is one request", () => {
    expect(splitByBytes([{ topic: "a", messages: messages(3, 100) }], 50).length).toBe(3);
    expect(splitByBytes([{ topic: "a", messages: messages(3) }], undefined).length).toBe(1);
  });

  test("the producer sends the split requests one after the other", async () => {
    const { producer, requests } = recordingProducer();
    await tunedProducer(producer, { batchBytes: 20 }).send({ topic: "a", acks: -1, messages: messages(5) });
    expect(requests.map((r) => r.topicMessages![0]!.messages.length)).toEqual([2, 2, 1]);
    expect(requests.every((r) => r.acks === -1)).toBe(true);
  });
});

describe("producer linger", () => {
  test("sends made within linger_ms go out as one request", async () => {
    const { producer, requests } = recordingProducer();
    const tuned = tunedProducer(producer, { lingerMs: 20 });
    await Promise.all([
      tuned.send({ topic: "a", messages: messages(2) }),
      tuned.send({ topic: "b", messages: messages(3) }),
      tuned.sendBatch({ topicMessages: [{ topic: "c", messages: messages(1) }] }),
    ]);
    expect(requests.length).toBe(1);
    expect(requests[0]!.topicMessages!.map((t) => t.topic)).toEqual(["a", "b", "c"]);
  });

  test("sends with different acks are not mixed", async () => {
    const { producer, requests } = recordingProducer();
    const tuned = tunedProducer(producer, { lingerMs: 20 });
    await Promise.all([tuned.send({ topic: "a", acks: -1, messages: messages(1) }), tuned.send({ topic: "a", acks: 1, messages: messages(1) })]);
    expect(requests.map((r) => r.acks).sort()).toEqual([-1, 1]);
  });

  test("a request full at batch_size goes at once, without waiting out the linger", async () => {
    const { producer, requests } = recordingProducer();
    const tuned = tunedProducer(producer, { lingerMs: 60_000, batchBytes: 30 });
    await tuned.send({ topic: "a", messages: messages(3) });
    expect(requests.length).toBe(1);
  });

  test("every send that joined a failed request fails with it", async () => {
    const { producer } = recordingProducer(true);
    const tuned = tunedProducer(producer, { lingerMs: 10 });
    const results = await Promise.allSettled([tuned.send({ topic: "a", messages: messages(1) }), tuned.send({ topic: "b", messages: messages(1) })]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  test("no tuning is the producer itself", () => {
    const { producer } = recordingProducer();
    expect(tunedProducer(producer, {})).toBe(producer);
  });
});
