/**
 * Writing Confluent-framed Avro, for producers of test data: good values, and
 * the malformed kinds a consumer must dead-letter (a JSON value where Avro is
 * expected, a schema id the registry does not know, a truncated body).
 *
 * @example
 * const encoding = avroEncoding(avroType(schemaText), 7);
 * encoding.encode({ user_id: "1", ... });          // <Buffer 00 00 00 00 07 ...>
 * encoding.bad("truncated", { user_id: "1", ... });
 */
import { frame, HEADER_BYTES } from "./framing.ts";
import type { AvroType } from "./types.ts";

export const AVRO_BAD_KINDS = ["not-avro", "unknown-schema-id", "truncated"] as const;

/** A schema id no registry hands out in a test: the largest 4-byte id. */
export const UNKNOWN_SCHEMA_ID = 0x7fffffff;

export function avroEncoding(type: AvroType, schemaId: number) {
  const encode = (value: Record<string, unknown>): Buffer => frame(schemaId, type.toBuffer(value));
  return {
    encode,
    badKinds: AVRO_BAD_KINDS,
    bad(kind: string, value: Record<string, unknown>): Buffer {
      switch (kind) {
        case "not-avro":
          return Buffer.from(JSON.stringify(value));
        case "unknown-schema-id":
          return frame(UNKNOWN_SCHEMA_ID, type.toBuffer(value));
        default: {
          const good = encode(value);
          return good.subarray(0, HEADER_BYTES + Math.floor((good.length - HEADER_BYTES) / 2));
        }
      }
    },
  };
}
