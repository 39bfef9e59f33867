/**
 * The producer codecs by their Kafka `compression.type` names, apart from
 * lib/kafka/codecs.ts so a tool can validate its flags without loading kafkajs.
 *
 * @example
 * const compression = flags.choice("compression", COMPRESSION_NAMES, "none");
 */
export const COMPRESSION_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
export type CompressionName = (typeof COMPRESSION_NAMES)[number];
