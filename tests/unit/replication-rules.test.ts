/**
 * kafka2kafka's topic rules (lib/kafka/replication-rules.ts): naming, the
 * dead-letter topic, self-replication, partition counts and loops.
 */
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../lib/errors.ts";
import {
  cameFrom,
  defaultDeadLetterTopic,
  destinationNaming,
  excluding,
  partitionShortfall,
  refuseDeadLetterSource,
  refuseSelfReplication,
  selfReplications,
} from "../../lib/kafka/replication-rules.ts";

describe("destination naming", () => {
  test("same name by default, --prefix before it, --dest-topic for one topic", () => {
    expect(destinationNaming(["a", "b"], {})("a")).toBe("a");
    expect(destinationNaming(/^ev/, { prefix: "remote." })("events")).toBe("remote.events");
    expect(destinationNaming(["logins"], { destTopic: "copy" })("logins")).toBe("copy");
  });

  test("refuses combinations that cannot work", () => {
    expect(() => destinationNaming(["a", "b"], { destTopic: "x" })).toThrow(UsageError);
    expect(() => destinationNaming(/a/, { destTopic: "x" })).toThrow("--dest-topic needs exactly one --topic");
    expect(() => destinationNaming(["a"], { destTopic: "x", prefix: "p." })).toThrow("cannot be used together");
    expect(() => destinationNaming(["a"], { destTopic: " " })).toThrow(UsageError);
  });

  test("self-replication is only a problem on one cluster with unchanged names", () => {
    expect(selfReplications(["a", "b"], (t) => t, true)).toEqual(["a", "b"]);
    expect(selfReplications(["a", "b"], (t) => t, false)).toEqual([]);
    expect(selfReplications(["a"], (t) => `x.${t}`, true)).toEqual([]);
  });

  test("a --topics-regex never matches the dead-letter topic", () => {
    const pattern = excluding(/logins/, "logins.dlq");
    expect(["logins", "eu.logins", "logins.dlq", "orders"].filter((t) => pattern.test(t))).toEqual(["logins", "eu.logins"]);
    const anchored = excluding(/^ev\.(a|b)$/, "x.dlq");
    expect(["ev.a", "ev.b", "ev.c", "xev.a"].filter((t) => anchored.test(t))).toEqual(["ev.a", "ev.b"]);
  });
});

describe("dead-letter topic", () => {
  test("next to one source topic, shared for several or a pattern", () => {
    expect(defaultDeadLetterTopic(["logins"])).toBe("logins.dlq");
    expect(defaultDeadLetterTopic(["a", "b"])).toBe("kafka2kafka.dlq");
    expect(defaultDeadLetterTopic(/^ev/)).toBe("kafka2kafka.dlq");
  });

  test("a dead-letter topic that is also read is refused", () => {
    expect(() => refuseDeadLetterSource(["a", "a.dlq"], "a.dlq")).toThrow("is also a source topic");
    expect(() => refuseDeadLetterSource(["a"], "a.dlq")).not.toThrow();
    expect(() => refuseDeadLetterSource(["a"], undefined)).not.toThrow();
  });
});

describe("self-replication", () => {
  const clusters = { from: "local_kafka", to: "local_kafka_again", clusterId: "C1", sameCluster: true };
  test("refused on one cluster with unchanged names, naming both sections and the way out", () => {
    expect(() => refuseSelfReplication(["logins"], (t) => t, clusters)).toThrow(
      "--from [local_kafka] and --to [local_kafka_again] are the same cluster (C1): topic 'logins' would be copied onto itself",
    );
    expect(() => refuseSelfReplication(["logins"], (t) => `copy.${t}`, clusters)).not.toThrow();
    expect(() => refuseSelfReplication(["logins"], (t) => t, { ...clusters, sameCluster: false })).not.toThrow();
  });
});

describe("partition counts under --partitioning preserve", () => {
  const pair = { source: "logins", destination: "remote.logins", destinationName: "[local_kafka]" };
  test("a destination with at least the source's partitions will do", () => {
    expect(partitionShortfall({ ...pair, have: 6, need: 6 })).toBeUndefined();
    expect(partitionShortfall({ ...pair, have: 8, need: 6 })).toBeUndefined();
  });

  test("fewer partitions is refused with the counts and what to do", () => {
    expect(partitionShortfall({ ...pair, have: 3, need: 6 })).toBe(
      "destination topic 'remote.logins' on [local_kafka] has 3 partition(s), fewer than the 6 of source topic 'logins'; " +
        "--partitioning preserve copies partition to partition (add partitions to the destination, or use --partitioning key)",
    );
    expect(partitionShortfall({ ...pair, have: 1, need: 2, createdMeanwhile: true })).toContain("was created meanwhile with 1 partition(s)");
  });
});

describe("loops", () => {
  test("a record is a loop if any hop's x-source-cluster is the destination", () => {
    expect(cameFrom({}, "D")).toBe(false);
    expect(cameFrom({ "x-source-cluster": "D" }, "D")).toBe(true);
    expect(cameFrom({ "x-source-cluster": [Buffer.from("A"), Buffer.from("D")] }, "D")).toBe(true);
    expect(cameFrom({ "x-source-cluster": Buffer.from("A") }, "D")).toBe(false);
  });
});
