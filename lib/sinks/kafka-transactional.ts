/**
 * A Kafka cluster as a transactional sink (commit strategy `transaction`):
 * a chunk's messages, to any number of topics, and the consumer group's next
 * offset go out in one Kafka transaction, so a read_committed reader sees
 * each input's outputs exactly once, even across crashes and rebalances.
 * The source's group must live on this cluster (the offsets are committed by
 * its transaction coordinator).
 *
 * Zombie fencing: kafkajs's sendOffsets carries no consumer-group generation
 * (no KIP-447), so the broker cannot refuse a transaction from a member that
 * lost its partition. Instead each source partition has its own
 * transactional.id, `<prefix>.<topic>.<partition>`, as Kafka Streams did
 * before KIP-447: the member that gets a partition initializes that id
 * (claim), which bumps the producer epoch, aborts the previous owner's open
 * transaction (or waits until its committing one is complete) and fences its
 * producer; only then does the engine read the committed offset, and it drops records below
 * the group's committed offset, in case the previous owner's last transaction
 * committed after this member fetched. One producer per owned partition.
 *
 * With `deadLetterTopic`, a chunk's dead letters go out in its transaction
 * too (exactly once, like the outputs); the topic must be on this cluster.
 * Offset metadata (a job's partition state, see engine/partition-state.ts)
 * is committed with the offset.
 *
 * Messages larger than the topic allows are reported as rejected before the
 * transaction is opened (the engine dead-letters them inside it); outages are
 * transient (the transaction is aborted and the engine retries the chunk);
 * a fenced producer throws SinkFencedError.
 *
 * @example
 * const sink = transactionalKafkaSink({ kafka, name: "kafka [local_kafka]", transactionalIdPrefix: "kafka2kafka.g",
 *   compression: CompressionTypes.None, maxBatchBytes: 1_048_588 });
 * await sink.claim("orders", 0);
 * await sink.writeInTransaction(outputs, { groupId: "g", topic: "orders", partition: 0, offset: "120" }, async () => {});
 */
import type { CompressionTypes, Kafka, Producer, ProducerConfig } from "kafkajs";
import type { DeadLetter } from "../engine/dead-letter.ts";
import { deadLetterMessage } from "./dead-letter-topic.ts";
import { SinkFencedError, TransientSinkError, type SinkResult, type TransactionalSink } from "../engine/sink.ts";
import { errorMessage } from "../errors.ts";
import { isFencedError, isRetriableKafkaError } from "../kafka/errors.ts";
import { byTopic, estimateBytes, REPLICATION_PRODUCER, splitByBytes, type KafkaOutput } from "./kafka.ts";

export interface TransactionalKafkaSinkOptions {
  kafka: Kafka;
  name: string;
  /** Transactional ids are `<prefix>.<topic>.<partition>` of the source partition; unique per job and group. */
  transactionalIdPrefix: string;
  compression: CompressionTypes;
  /** Largest record batch per produce request, in bytes: the destination topics' max.message.bytes. */
  maxBatchBytes: number;
  /** How long the broker may take to acknowledge, ms. */
  timeoutMs?: number;
  /** Dead letters handed to writeInTransaction go to this topic, in the transaction. */
  deadLetterTopic?: string;
}

/**
 * A transaction begun right after a commit meets CONCURRENT_TRANSACTIONS
 * while the broker still writes the previous one's markers (a few ms).
 * kafkajs's default first retry waits 300 ms, which for a transaction per
 * chunk cost most of the run's time; the Java producer retries that case
 * after 20 ms. The retries still span about 5 s before the engine's own
 * retry of the chunk takes over.
 */
const TRANSACTIONAL_PRODUCER: ProducerConfig = {
  ...REPLICATION_PRODUCER,
  transactionTimeout: 60_000,
  retry: { initialRetryTime: 20, maxRetryTime: 1_000, retries: 10 },
};

/** Marks an error thrown by the engine's beforeCommit, so it passes through unchanged. */
class FromBeforeCommit extends Error {
  constructor(readonly original: unknown) {
    super("beforeCommit failed");
  }
}

export function transactionalKafkaSink(options: TransactionalKafkaSinkOptions): TransactionalSink<KafkaOutput> {
  const producers = new Map<string, Producer>();
  const idOf = (topic: string, partition: number) => `${options.transactionalIdPrefix}.${topic}.${partition}`;

  const drop = async (id: string) => {
    const producer = producers.get(id);
    producers.delete(id);
    await producer?.disconnect().catch(() => {});
  };

  /** Initializes the partition's transactional id afresh, fencing any other producer holding it. */
  const open = async (id: string): Promise<Producer> => {
    await drop(id);
    const producer = options.kafka.producer({ ...TRANSACTIONAL_PRODUCER, transactionalId: id });
    try {
      await producer.connect();
      // kafkajs's connect() gets a plain idempotent producer id; the transactional
      // InitProducerId, which fences the previous owner and waits until its last
      // transaction is complete, comes only with the first transaction(). Begin
      // (and drop, with no request) one now, so that the committed offset the
      // engine reads after the claim is final.
      await (await producer.transaction()).abort();
    } catch (error) {
      await producer.disconnect().catch(() => {});
      throw classify(error, `${options.name}: cannot initialize transactional id '${id}'`);
    }
    producers.set(id, producer);
    return producer;
  };

  const classify = (error: unknown, what: string): Error => {
    if (isFencedError(error)) return new SinkFencedError(`${what}: fenced by a newer producer (${errorMessage(error)})`, { cause: error });
    if (isRetriableKafkaError(error)) return new TransientSinkError(`${what}: ${errorMessage(error)}`, { cause: error });
    return new Error(`${what}: ${errorMessage(error)}`, { cause: error });
  };

  const lettersFor = (letters: DeadLetter[]): KafkaOutput[] => {
    if (!options.deadLetterTopic) throw new Error(`${options.name} was given dead letters but has no dead-letter topic`);
    const now = new Date();
    return letters.map((letter) => {
      const message = deadLetterMessage(letter, now, options.maxBatchBytes);
      return { topic: options.deadLetterTopic!, key: message.key ?? null, value: message.value ?? null, headers: message.headers ?? {}, timestamp: message.timestamp };
    });
  };

  return {
    name: options.name,
    deadLetterTopic: options.deadLetterTopic,
    async claim(topic, partition) {
      await open(idOf(topic, partition));
    },
    async writeInTransaction(items, position, beforeCommit, letters = []) {
      const id = idOf(position.topic, position.partition);
      const producer = producers.get(id) ?? (await open(id));
      const result: SinkResult = { written: 0, duplicates: 0, rejected: [] };
      const sendable: number[] = [];
      items.forEach((item, index) => {
        const bytes = estimateBytes(item);
        if (bytes > options.maxBatchBytes) {
          result.rejected.push({ index, reason: `${options.name} would refuse the message as too large (~${bytes} bytes, limit ${options.maxBatchBytes})` });
        } else sendable.push(index);
      });
      const outputs = letters.length ? [...items, ...lettersFor(letters)] : items;
      const indices = letters.length ? [...sendable, ...letters.map((_, i) => items.length + i)] : sendable;
      const transaction = await producer.transaction().catch((error) => {
        throw classify(error, `${options.name}: cannot begin a transaction`);
      });
      try {
        for (const group of splitByBytes(outputs, indices, options.maxBatchBytes)) {
          await transaction.sendBatch({
            acks: -1,
            compression: options.compression,
            timeout: options.timeoutMs ?? 30_000,
            topicMessages: byTopic(group.map((i) => outputs[i]!)),
          });
        }
        result.written = sendable.length;
        await beforeCommit(result).catch((error) => {
          throw new FromBeforeCommit(error);
        });
        await transaction.sendOffsets({
          consumerGroupId: position.groupId,
          // kafkajs passes metadata through to TxnOffsetCommit, though its types omit it.
          topics: [{ topic: position.topic, partitions: [{ partition: position.partition, offset: position.offset, metadata: position.metadata ?? null } as { partition: number; offset: string }] }],
        });
        await transaction.commit();
        return result;
      } catch (error) {
        await transaction.abort().catch(() => {});
        // The producer's state is unknown after a failure; the next attempt
        // initializes the id again, which also ends any transaction left open.
        await drop(id);
        if (error instanceof FromBeforeCommit) throw error.original;
        throw classify(error, `${options.name}: transaction for ${position.topic}/${position.partition} failed`);
      }
    },
    async close() {
      await Promise.all([...producers.keys()].map(drop));
    },
  };
}
