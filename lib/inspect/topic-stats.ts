/**
 * Accumulates what verify-topic reports about the messages of a topic:
 * per-partition counts and offset ranges, value kinds (JSON or why not),
 * a schema summary by reason, the first few messages as samples, and,
 * for reconciliation, every offset seen.
 *
 * @example
 * const stats = createTopicStats({ schema: "user-login", sampleSize: 3, keepOffsets: false });
 * stats.add(0, { offset: "0", key: null, value: Buffer.from("{}"), timestamp: "0" });
 * stats.report().schema; // { name: "user-login", valid: 0, invalid: 1, reasons: { "missing user_id": 1, ... } }
 */
import type { IHeaders } from "kafkajs";
import type { AvroDecoder } from "../avro/decoder.ts";
import { toJsonValue } from "../avro/json.ts";
import { decodeValue, type ValueKind } from "./decode-value.ts";
import { MESSAGE_SCHEMAS, schemaReasons, type SchemaName } from "./schemas.ts";
import { errorMessage } from "../errors.ts";

export interface MessageLike {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers?: IHeaders;
}

export interface PartitionStats {
  partition: number;
  count: number;
  firstOffset?: number;
  lastOffset?: number;
}

export interface Sample {
  partition: number;
  offset: number;
  timestamp: string;
  key: string | null;
  kind: ValueKind;
  /** The value as text; undecodable bytes shown as U+FFFD, long values cut. */
  value: string | null;
  headers: Record<string, string>;
}

export interface SchemaSummary {
  name: SchemaName;
  valid: number;
  invalid: number;
  /** Messages per reason; a message with several problems counts under each. */
  reasons: Record<string, number>;
}

/** With an Avro decoder: how many values decoded, by writer schema id, and why the rest did not. */
export interface AvroSummary {
  decoded: number;
  undecodable: number;
  schema_ids: Record<string, number>;
  reasons: Record<string, number>;
}

export interface TopicStatsReport {
  messages: number;
  partitions: PartitionStats[];
  values: Record<ValueKind, number>;
  avro?: AvroSummary;
  schema?: SchemaSummary;
  samples: Sample[];
}

export interface TopicStatsOptions {
  schema?: SchemaName;
  sampleSize: number;
  /** Keep every offset for reconciliation; costs 8 bytes per message. */
  keepOffsets: boolean;
  /** Values are Confluent-framed Avro: decode them (call `prepare` first), check --schema on the decoded value. */
  avro?: AvroDecoder;
}

export interface TopicStats {
  /** Loads what `add` needs for these messages (Avro schemas); a no-op without Avro. */
  prepare(messages: MessageLike[]): Promise<void>;
  add(partition: number, message: MessageLike): void;
  report(): TopicStatsReport;
  /** Offsets seen per partition, in order; empty unless keepOffsets. */
  offsets(): Map<number, number[]>;
}

const SAMPLE_VALUE_CHARS = 2000;
const NOT_JSON_REASONS: Record<Exclude<ValueKind, "json">, string> = {
  "invalid-json": "invalid JSON",
  "invalid-utf8": "invalid UTF-8",
  empty: "empty value",
};
const lenientUtf8 = new TextDecoder("utf-8");

export function createTopicStats(options: TopicStatsOptions): TopicStats {
  const partitions = new Map<number, PartitionStats>();
  const offsets = new Map<number, number[]>();
  const values: Record<ValueKind, number> = { json: 0, "invalid-json": 0, "invalid-utf8": 0, empty: 0 };
  const schema = options.schema;
  const summary: SchemaSummary | undefined = schema ? { name: schema, valid: 0, invalid: 0, reasons: {} } : undefined;
  const samples: Sample[] = [];
  const avro = options.avro;
  const avroSummary: AvroSummary | undefined = avro ? { decoded: 0, undecodable: 0, schema_ids: {}, reasons: {} } : undefined;
  let messages = 0;

  /** The decoded value as JSON, or undefined after counting why it did not decode. */
  const decodeAvro = (value: Buffer | null): { json: unknown } | undefined => {
    if (!avro || !avroSummary) return undefined;
    if (value === null || value.length === 0) return undefined;
    try {
      const decoded = avro.decode(value);
      avroSummary.decoded++;
      avroSummary.schema_ids[decoded.schemaId] = (avroSummary.schema_ids[decoded.schemaId] ?? 0) + 1;
      return { json: toJsonValue(decoded.value) };
    } catch (error) {
      avroSummary.undecodable++;
      const reason = errorMessage(error);
      avroSummary.reasons[reason] = (avroSummary.reasons[reason] ?? 0) + 1;
      return undefined;
    }
  };

  const countReasons = (reasons: string[]) => {
    if (!summary) return;
    if (reasons.length === 0) {
      summary.valid++;
      return;
    }
    summary.invalid++;
    for (const reason of new Set(reasons)) summary.reasons[reason] = (summary.reasons[reason] ?? 0) + 1;
  };

  return {
    prepare: async (batch) => {
      if (avro) await avro.prepare(batch.map((m) => m.value));
    },
    add(partition, message) {
      const offset = Number(message.offset);
      messages++;
      let stats = partitions.get(partition);
      if (!stats) partitions.set(partition, (stats = { partition, count: 0 }));
      stats.count++;
      stats.firstOffset ??= offset;
      stats.lastOffset = offset;
      if (options.keepOffsets) {
        let list = offsets.get(partition);
        if (!list) offsets.set(partition, (list = []));
        list.push(offset);
      }

      const fromAvro = decodeAvro(message.value);
      const decoded = decodeValue(message.value);
      values[decoded.kind]++;
      if (schema && avro) {
        countReasons(fromAvro ? schemaReasons(MESSAGE_SCHEMAS[schema], fromAvro.json) : ["not decodable Avro"]);
      } else if (schema) {
        countReasons(
          decoded.kind === "json" ? schemaReasons(MESSAGE_SCHEMAS[schema], decoded.value) : [NOT_JSON_REASONS[decoded.kind]],
        );
      }
      if (samples.length < options.sampleSize) {
        const text = fromAvro ? JSON.stringify(fromAvro.json) : message.value === null ? null : lenientUtf8.decode(message.value);
        samples.push({
          partition,
          offset,
          timestamp: message.timestamp,
          key: message.key === null ? null : lenientUtf8.decode(message.key),
          kind: decoded.kind,
          value: text === null ? null : text.slice(0, SAMPLE_VALUE_CHARS),
          headers: headerStrings(message.headers),
        });
      }
    },
    report: () => ({
      messages,
      partitions: [...partitions.values()].sort((a, b) => a.partition - b.partition),
      values: { ...values },
      ...(avroSummary ? { avro: { ...avroSummary, schema_ids: { ...avroSummary.schema_ids }, reasons: { ...avroSummary.reasons } } } : {}),
      ...(summary ? { schema: { ...summary, reasons: { ...summary.reasons } } } : {}),
      samples: [...samples],
    }),
    offsets: () => offsets,
  };
}

/** Header values as text; a repeated header keeps its first value. */
export function headerStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) out[name] = typeof value === "string" ? value : lenientUtf8.decode(value);
  }
  return out;
}
