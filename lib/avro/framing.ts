/**
 * Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian
 * integer, then the Avro binary body. Every Confluent-compatible serializer
 * (Confluent, Apicurio in ccompat mode, Karapace, Redpanda) writes it.
 *
 * @example
 * const framed = frame(7, body);      // <Buffer 00 00 00 00 07 ...body>
 * readFrame(framed);                  // { schemaId: 7, bodyOffset: 5 }
 */

export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

/** A value that is not in the Confluent wire format. */
export class FramingError extends Error {
  override name = "FramingError";
}

/** Schema id and where the Avro body starts; throws FramingError for anything else. */
export function readFrame(buf: Uint8Array): { schemaId: number; bodyOffset: number } {
  if (buf.length < HEADER_BYTES) {
    throw new FramingError(`not Confluent-framed Avro: ${buf.length} byte(s), shorter than the 5-byte header`);
  }
  if (buf[0] !== MAGIC_BYTE) {
    throw new FramingError(`not Confluent-framed Avro: magic byte 0x${buf[0]!.toString(16).padStart(2, "0")}, expected 0x00`);
  }
  const schemaId = ((buf[1]! << 24) | (buf[2]! << 16) | (buf[3]! << 8) | buf[4]!) >>> 0;
  return { schemaId, bodyOffset: HEADER_BYTES };
}

/** The framed bytes of an Avro body written with schema `schemaId`. */
export function frame(schemaId: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(schemaId, 1);
  out.set(body, HEADER_BYTES);
  return out;
}
