/**
 * Snappy, LZ4 and ZSTD for kafkajs, which ships only gzip: registered once
 * for every client the toolkit makes. Pure JavaScript, WebAssembly, or native
 * code prebuilt inside the npm package itself, so `npm install` downloads
 * nothing else and needs no compiler.
 *
 * - snappy: kafkajs-snappy (snappyjs); reads the xerial framing the Java
 *   client writes as well as raw blocks.
 * - lz4: lz4-napi (lz4_flex, prebuilt per platform as optional packages),
 *   LZ4 frames with independent blocks, the only kind Kafka's broker accepts.
 * - zstd: @bokuweb/zstd-wasm (the reference C library built to WebAssembly).
 *
 * @example
 * import { registerCodecs, compressionType } from "./codecs.ts";
 * registerCodecs(); // idempotent; createKafka calls it
 * producer.send({ topic, compression: compressionType("zstd"), messages });
 */
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import SnappyCodec from "kafkajs-snappy";
import { compressFrame as lz4Compress, decompressFrame as lz4Decompress } from "lz4-napi";
import type { CompressionName } from "./compression-names.ts";
import { compress as zstdCompress, decompress as zstdDecompress, init as zstdInit } from "@bokuweb/zstd-wasm";


const TYPES: Record<CompressionName, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** The kafkajs compression type for a `compression.type` name. */
export function compressionType(name: CompressionName): CompressionTypes {
  return TYPES[name];
}

// librdkafka's and the Java client's default level; higher levels cost far more CPU for little.
const ZSTD_LEVEL = 3;

interface Encoder {
  buffer: Buffer;
}

let zstdReady: Promise<void> | undefined;
const zstdLoaded = () => (zstdReady ??= zstdInit());

const zstdCodec = () => ({
  async compress(encoder: Encoder): Promise<Buffer> {
    await zstdLoaded();
    return Buffer.from(zstdCompress(encoder.buffer, ZSTD_LEVEL));
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    await zstdLoaded();
    return Buffer.from(zstdDecompress(buffer));
  },
});

const lz4Codec = () => ({
  async compress(encoder: Encoder): Promise<Buffer> {
    return lz4Compress(encoder.buffer);
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    return lz4Decompress(buffer);
  },
});

let registered = false;

/** Adds snappy, lz4 and zstd to kafkajs' codecs; safe to call any number of times. */
export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec;
}
