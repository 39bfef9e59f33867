/**
 * A processing step that lets a record through only if its value decodes as
 * Confluent-framed Avro with its writer schema; anything else becomes a dead
 * letter with the reason. The bytes are not changed: the next step sees the
 * record as it came. Null values (tombstones) pass, since they carry no schema.
 *
 * @example
 * const check = avroValueCheck(decoder);
 * runPipeline({ processor: check.wrap(replicateProcessor(...)), prepare: check.prepare, ... });
 */
import type { AvroDecoder } from "../avro/decoder.ts";
import type { Processor, SourceRecord } from "../engine/record.ts";
import { errorMessage } from "../errors.ts";

export interface AvroValueCheck {
  wrap<T>(next: Processor<T>): Processor<T>;
  /** For the engine's prepare: loads the schemas a chunk's values name. */
  prepare(records: SourceRecord[]): Promise<void>;
}

export function avroValueCheck(decoder: AvroDecoder): AvroValueCheck {
  return {
    wrap: (next) => (record) => {
      if (record.value !== null) {
        try {
          decoder.decode(record.value);
        } catch (error) {
          return { kind: "dead", reason: `--check-schema: ${errorMessage(error)}`, stage: "process" };
        }
      }
      return next(record);
    },
    prepare: (records) => decoder.prepare(records.map((r) => r.value)),
  };
}
