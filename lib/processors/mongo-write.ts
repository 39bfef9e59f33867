/**
 * Keys as identities (`kafka2mongo --write-mode upsert`): each record becomes
 * a replacement of the document with its _id, or, for a tombstone (null
 * value) under --id-strategy key, the deletion of that document, as on a
 * compacted topic. Everything else is kafkaDocumentProcessor's document.
 *
 * @example
 * const process = mongoWriteProcessor({ idStrategy: "key", valueFormat: "json" });
 * process(tombstone); // { kind: "write", item: { delete: "user-1" } }
 */
import type { Document } from "mongodb";
import type { Processor } from "../engine/record.ts";
import { kafkaDocumentProcessor, type KafkaDocumentOptions } from "./kafka-document.ts";

export type MongoWrite = { replace: Document } | { delete: unknown };

export function mongoWriteProcessor(options: KafkaDocumentOptions): Processor<MongoWrite> {
  const toDocument = kafkaDocumentProcessor(options);
  return (record) => {
    const outcome = toDocument(record);
    if (outcome.kind !== "write") return outcome;
    if (record.value === null && options.idStrategy === "key") return { kind: "write", item: { delete: outcome.item._id } };
    return { kind: "write", item: { replace: outcome.item } };
  };
}
