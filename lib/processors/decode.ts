/**
 * The decode step: turns a message value's bytes into an event. It takes a
 * {@link Decoder}, JSON by default, so other formats (Avro with a schema
 * registry) plug in by name through {@link DECODERS} without touching the
 * other steps. A value that does not decode to an object is an error.
 *
 * @example
 * const decode = decodeStep(jsonDecoder);
 * decode(Buffer.from('{"user_id":"1"}')); // { kind: "next", event: { user_id: "1" } }
 * decode(Buffer.from('{"user_id":'));     // { kind: "error", reason: "invalid JSON: ..." }
 */
import type { AvroDecoder } from "../avro/decoder.ts";
import { toJsonValue } from "../avro/json.ts";
import { errorMessage } from "../errors.ts";
import { rejected, typeName, next, type Event, type StepVerdict } from "./step.ts";

/** Bytes → a value; throws a {@link DecodeError} (or any error) naming what is wrong. */
export interface Decoder {
  readonly name: string;
  decode(bytes: Buffer): unknown;
}

/** The value cannot be decoded; the message names the cause in one line. */
export class DecodeError extends Error {
  override name = "DecodeError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export const jsonDecoder: Decoder = {
  name: "json",
  decode(bytes) {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new DecodeError("invalid UTF-8");
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new DecodeError(`invalid JSON: ${errorMessage(error)}`);
    }
  },
};

/**
 * Confluent-framed Avro, decoded with its writer schema (registry or
 * --avro-schema files; the engine's prepare loads the schemas first), as the
 * JSON the other steps see: longs are numbers while exact, uuids strings.
 */
export function avroEventDecoder(avro: AvroDecoder): Decoder {
  return {
    name: "avro",
    decode(bytes) {
      try {
        return toJsonValue(avro.decode(bytes).value);
      } catch (error) {
        throw new DecodeError(`invalid Avro: ${errorMessage(error)}`);
      }
    },
  };
}

/** Decoders by the name a pipeline file's decode step gives as `format`. */
export const DECODERS: Record<string, Decoder> = { json: jsonDecoder };

/** Decodes a message value into an event: a null (tombstone) or empty value, or one that is not an object, is an error. */
export function decodeStep(decoder: Decoder = jsonDecoder): (value: Buffer | null) => StepVerdict {
  return (value) => {
    if (value === null) return rejected("the message has no value (tombstone)");
    if (value.length === 0) return rejected("the message value is empty");
    let decoded: unknown;
    try {
      decoded = decoder.decode(value);
    } catch (error) {
      return rejected(errorMessage(error) || `cannot decode as ${decoder.name}`);
    }
    if (decoded === null || typeof decoded !== "object" || Array.isArray(decoded)) {
      return rejected(`the ${decoder.name} value is ${typeName(decoded)}, not an object`);
    }
    return next(decoded as Event);
  };
}
