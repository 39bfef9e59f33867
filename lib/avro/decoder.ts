/**
 * Decodes Confluent-framed Avro values with their writer schemas. Schema
 * lookups are asynchronous and decoding is not: `prepare` loads the schemas a
 * batch needs (once per id), then `decode` runs per message without awaiting,
 * so a processing step stays a plain function.
 *
 * Per-message problems (wrong magic byte, unknown schema id, a body that does
 * not decode) are {@link AvroDecodeError}s, for the dead-letter topic. A
 * registry that cannot be reached makes `prepare` reject, so the job stops
 * before anything of that batch is committed.
 *
 * @example
 * const decoder = avroDecoder(registrySchemas(client));
 * await decoder.prepare(records.map((r) => r.value));
 * const { schemaId, value } = decoder.decode(records[0].value);
 */
import { readFrame } from "./framing.ts";
import type { SchemaLookup } from "./schemas.ts";
import type { AvroType } from "./types.ts";
import { errorMessage } from "../errors.ts";

/** One value that cannot be decoded; the message says why. */
export class AvroDecodeError extends Error {
  override name = "AvroDecodeError";
}

export interface DecodedAvro {
  schemaId: number;
  value: unknown;
}

export interface AvroDecoder {
  readonly source: string;
  /** Loads the schemas of the framed values given; rejects only if the registry is unavailable. */
  prepare(values: Iterable<Uint8Array | null>): Promise<void>;
  /** Decodes one framed value; throws AvroDecodeError. Call prepare for it first. */
  decode(value: Uint8Array): DecodedAvro;
}

export function avroDecoder(schemas: SchemaLookup): AvroDecoder {
  // Settled lookups, readable without awaiting: a type, or why there is none.
  const ready = new Map<number, AvroType | string>();

  return {
    source: schemas.source,
    async prepare(values) {
      const wanted = new Set<number>();
      for (const value of values) {
        if (value === null || value.length < 5 || value[0] !== 0) continue;
        const id = ((value[1]! << 24) | (value[2]! << 16) | (value[3]! << 8) | value[4]!) >>> 0;
        if (!ready.has(id)) wanted.add(id);
      }
      await Promise.all(
        [...wanted].map(async (id) => {
          try {
            ready.set(id, await schemas.typeFor(id));
          } catch (error) {
            if (error instanceof Error && error.name === "RegistryUnavailableError") throw error;
            ready.set(id, `schema id ${id}: ${errorMessage(error)}`);
          }
        }),
      );
    },
    decode(value) {
      let frame: { schemaId: number; bodyOffset: number };
      try {
        frame = readFrame(value);
      } catch (error) {
        throw new AvroDecodeError(errorMessage(error));
      }
      const type = ready.get(frame.schemaId);
      if (type === undefined) throw new AvroDecodeError(`schema id ${frame.schemaId} was not loaded (prepare was not called)`);
      if (typeof type === "string") throw new AvroDecodeError(type);
      const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
      let decoded: { value: unknown; offset: number };
      try {
        decoded = type.decode(buf, frame.bodyOffset);
      } catch (error) {
        throw new AvroDecodeError(`body does not decode with schema id ${frame.schemaId}: ${errorMessage(error)}`);
      }
      if (decoded.offset < 0) throw new AvroDecodeError(`body does not decode with schema id ${frame.schemaId}: truncated`);
      if (decoded.offset !== buf.length) {
        throw new AvroDecodeError(
          `body does not decode with schema id ${frame.schemaId}: ${buf.length - decoded.offset} byte(s) left over`,
        );
      }
      return { schemaId: frame.schemaId, value: decoded.value };
    },
  };
}
