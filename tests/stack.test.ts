/**
 * Integration test of the local stack (stack/stack.ts): real produce/consume on
 * both brokers, SCRAM accepted and rejected, a document through FerretDB, a
 * schema through the Schema Registry's Confluent-compatible API.
 * Assumes the stack is up: `npm test` runs `bun stack/stack.ts up` first.
 * Honours the same STACK_* port variables as stack.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Kafka, Partitioners, logLevel, type KafkaConfig, type SASLOptions } from "kafkajs";
import { MongoClient } from "mongodb";
import { waitForTopicMetadata } from "./helpers/stack-fixtures.ts";

const port = (name: string, fallback: number): number => Number(process.env[name] || fallback);
const LOCAL = `127.0.0.1:${port("STACK_LOCAL_KAFKA_PORT", 9092)}`;
const REMOTE_PLAIN = `127.0.0.1:${port("STACK_REMOTE_KAFKA_PORT", 9192)}`;
const REMOTE_SCRAM = `127.0.0.1:${port("STACK_REMOTE_SASL_PORT", 9193)}`;
const MONGO_URL = `mongodb://127.0.0.1:${port("STACK_MONGO_PORT", 27017)}/`;
const REGISTRY_URL = `http://127.0.0.1:${port("STACK_SCHEMA_REGISTRY_PORT", 8081)}/apis/ccompat/v7`;
// A fresh object per client: kafkajs stores an authenticationProvider bound to the
// credentials on the sasl object it was given, so a reused or spread object would
// keep authenticating with the first password it saw.
const scram = (password = "replicator-secret"): SASLOptions => ({ mechanism: "scram-sha-512", username: "replicator", password });

// Unique per run so reruns never read an earlier run's messages.
const RUN = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

function kafka(brokers: string, sasl?: SASLOptions, extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({ clientId: "stack-test", brokers: [brokers], sasl, logLevel: logLevel.NOTHING, ...extra });
}

/** Creates a topic, produces one message, reads it back through a consumer group. */
async function roundTrip(client: Kafka, topic: string): Promise<string> {
  const admin = client.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await waitForTopicMetadata(admin, topic);
  } finally {
    await admin.disconnect();
  }

  const sent = `hello ${topic}`;
  const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key: "k", value: sent }] });
  } finally {
    await producer.disconnect();
  }

  const consumer = client.consumer({ groupId: `${topic}-group` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message on ${topic} within 30 s`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve(message.value?.toString() ?? "");
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

describe("local stack", () => {
  test("local Kafka: produce and consume on PLAINTEXT", async () => {
    const topic = `stack-test-local-${RUN}`;
    expect(await roundTrip(kafka(LOCAL), topic)).toBe(`hello ${topic}`);
  });

  test("remote Kafka: produce and consume as replicator on the SCRAM-SHA-512 listener", async () => {
    const topic = `stack-test-remote-${RUN}`;
    expect(await roundTrip(kafka(REMOTE_SCRAM, scram()), topic)).toBe(`hello ${topic}`);
  });

  test("remote Kafka: the PLAINTEXT listener answers too", async () => {
    const admin = kafka(REMOTE_PLAIN).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.length).toBe(1);
    } finally {
      await admin.disconnect();
    }
  });

  test("remote Kafka: a wrong SCRAM password is rejected", async () => {
    const admin = kafka(REMOTE_SCRAM, scram("wrong-password"), { retry: { retries: 0 } }).admin();
    let error: unknown;
    try {
      await admin.connect();
    } catch (err) {
      error = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe("KafkaJSSASLAuthenticationError");
    expect((error as Error).message).toMatch(/authentication failed/i);
  });

  describe("FerretDB", () => {
    const client = new MongoClient(MONGO_URL, { serverSelectionTimeoutMS: 5000 });
    const collection = client.db("stack_test").collection(`docs_${RUN.replace("-", "_")}`);
    afterAll(async () => {
      await collection.drop().catch(() => undefined);
      await client.close();
    });

    test("ping, insert and find a document", async () => {
      expect((await client.db("admin").command({ ping: 1 })).ok).toBe(1);
      const { insertedId } = await collection.insertOne({ run: RUN, n: 42, tags: ["a", "b"] });
      const found = await collection.findOne({ _id: insertedId });
      expect(found).toMatchObject({ run: RUN, n: 42, tags: ["a", "b"] });
    });
  });

  describe("Schema Registry", () => {
    test("registers a schema under a subject and serves it by id", async () => {
      const schema = JSON.stringify({ type: "record", name: "StackTest", fields: [{ name: "run", type: "string" }] });
      const headers = { "Content-Type": "application/vnd.schemaregistry.v1+json" };
      const registered = await fetch(`${REGISTRY_URL}/subjects/stack-test-${RUN}-value/versions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ schema }),
      });
      expect(registered.status).toBe(200);
      const { id } = (await registered.json()) as { id: number };
      const byId = (await (await fetch(`${REGISTRY_URL}/schemas/ids/${id}`)).json()) as { schema: string };
      expect(JSON.parse(byId.schema)).toEqual(JSON.parse(schema));
      expect((await fetch(`${REGISTRY_URL}/schemas/ids/2147483647`)).status).toBe(404);
    });
  });
});
