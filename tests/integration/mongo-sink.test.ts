import { describe, expect, test } from "bun:test";
import { MongoClient } from "mongodb";
import { TransientSinkError } from "../../lib/engine/sink.ts";
import { mongoSink } from "../../lib/sinks/mongo.ts";
import { mongoUpsertSink } from "../../lib/sinks/mongo-upsert.ts";
import { startMongoFaultProxy } from "../helpers/mongo-fault-proxy.ts";
import { mongoConfig, uniqueName, withMongo } from "../helpers/stack-fixtures.ts";

describe("mongo sink", () => {
  test("counts new, duplicate and refused documents, by index", async () => {
    await withMongo(async (client) => {
      const sink = mongoSink(client.db("toolkit_tests").collection(uniqueName("sink")));
      expect(await sink.write([{ _id: "a" }, { _id: "b" }])).toEqual({ written: 2, duplicates: 0, rejected: [] });
      const second = await sink.write([{ _id: "a" }, { _id: "c" }, { _id: "d", $bad: 1 }]);
      expect(second.written).toBe(1);
      expect(second.duplicates).toBe(1);
      expect(second.rejected.map((r) => r.index)).toEqual([2]);
      expect(second.rejected[0]!.reason).toContain("mongodb error");
    });
  });

  test("a batch over one command's size limit is written in parts", async () => {
    await withMongo(async (client) => {
      const collection = client.db("toolkit_tests").collection(uniqueName("sink-large"));
      const sink = mongoSink(collection);
      const megabyte = "x".repeat(1024 * 1024);
      const documents = Array.from({ length: 18 }, (_, i) => ({ _id: `large-${i}`, pad: megabyte }));
      expect(await sink.write(documents)).toEqual({ written: 18, duplicates: 0, rejected: [] });
      expect(await collection.countDocuments()).toBe(18);
      await collection.drop();
    });
  });

  test("a document without _id gets one before the first attempt, so a retry is a duplicate", async () => {
    await withMongo(async (client) => {
      const sink = mongoSink(client.db("toolkit_tests").collection(uniqueName("sink-noid")));
      const documents: { _id?: unknown; n: number }[] = [{ n: 1 }, { n: 2 }];
      expect(await sink.write(documents)).toEqual({ written: 2, duplicates: 0, rejected: [] });
      expect(await sink.write(documents)).toEqual({ written: 0, duplicates: 2, rejected: [] });
    });
  });

  test("an unreachable server is a transient error, never a claimed write", async () => {
    // A server that goes away mid-run is covered by the FerretDB outage test
    // in kafka2mongo.test.ts; this is the never-reachable case.
    const client = new MongoClient("mongodb://127.0.0.1:1/", { serverSelectionTimeoutMS: 1000 });
    const sink = mongoSink(client.db("toolkit_tests").collection("unreachable"));
    let error: unknown;
    try {
      await sink.write([{ _id: "x" }, { _id: "y" }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TransientSinkError);
    await client.close();
  });
});

describe("mongo sinks: unmet write concern (issue 9, 4c)", () => {
  // The 6.x driver throws a MongoWriteConcernError for a reply carrying a
  // writeConcernError; the documents are applied on the primary but may not
  // be durable. Neither sink may count them, dead-letter them or let them be
  // committed: the batch is retried and comes back as duplicates.
  test("the insert sink treats it as transient, and the retried batch counts the documents as duplicates", async () => {
    const proxy = await startMongoFaultProxy(mongoConfig.uri);
    const client = new MongoClient(proxy.uri, { serverSelectionTimeoutMS: 20_000 });
    try {
      const name = uniqueName("sink-wc");
      const sink = mongoSink(client.db("toolkit_tests").collection(name));
      proxy.writeConcernErrors = true;
      const outcome = await sink.write([{ _id: "a" }, { _id: "b" }]).then((result) => ({ result }), (error: unknown) => ({ error }));
      expect(outcome).toEqual({ error: expect.any(TransientSinkError) });
      expect(proxy.faulted).toBeGreaterThan(0);
      proxy.writeConcernErrors = false;
      expect(await sink.write([{ _id: "a" }, { _id: "b" }])).toEqual({ written: 0, duplicates: 2, rejected: [] });
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  test("the upsert sink treats it as transient", async () => {
    const proxy = await startMongoFaultProxy(mongoConfig.uri);
    const client = new MongoClient(proxy.uri, { serverSelectionTimeoutMS: 20_000 });
    try {
      const sink = mongoUpsertSink(client.db("toolkit_tests").collection(uniqueName("upsert-wc")));
      proxy.writeConcernErrors = true;
      const outcome = await sink.write([{ replace: { _id: "a", v: 1 } }, { delete: "b" }]).then((result) => ({ result }), (error: unknown) => ({ error }));
      expect(outcome).toEqual({ error: expect.any(TransientSinkError) });
      expect(proxy.faulted).toBeGreaterThan(0);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
