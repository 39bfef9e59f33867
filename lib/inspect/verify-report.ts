/**
 * verify-topic's report: assembled from the read, the message statistics
 * and the reconciliation; judged (what makes the run fail); printed as text
 * or as one JSON document with snake_case keys.
 *
 * @example
 * const report = buildVerifyReport({ topic, read, stats: stats.report(), expectCount: 1000 });
 * report.ok;       // false when the count differs
 * report.problems; // ["expected 1000 messages, found 999"]
 * console.log(formatVerifyReport(report));
 */
import type { ValueKind } from "./decode-value.ts";
import type { PartitionRange, ReadTopicResult } from "./read-topic.ts";
import type { OffsetRef, ReconcileResult } from "./reconcile.ts";
import type { AvroSummary, Sample, SchemaSummary, TopicStatsReport } from "./topic-stats.ts";

export interface ReconciliationInput {
  /** Where the documents were looked for, e.g. "[mongodb] toolkit.raw". */
  mongo: string;
  documents: number;
  unreadableDocuments: number;
  dlqTopic: string;
  dlqExists: boolean;
  dlqComplete: boolean;
  dlqMessages: number;
  unreadableDeadLetters: number;
  result: ReconcileResult;
}

export interface VerifyReportInput {
  topic: string;
  read: ReadTopicResult;
  stats: TopicStatsReport;
  expectCount?: number;
  reconciliation?: ReconciliationInput;
}

export interface PartitionReport {
  partition: number;
  count: number;
  first_offset: number | null;
  last_offset: number | null;
  earliest: number;
  end: number;
  reached: boolean;
}

export interface ReconciliationReport {
  mongo: string;
  dlq_topic: string;
  dlq_exists: boolean;
  expected: number;
  landed: number;
  dead_lettered: number;
  missing_count: number;
  missing: OffsetRef[];
  duplicate_count: number;
  duplicates: Array<OffsetRef & { documents: number }>;
  documents: number;
  unexpected_documents: number;
  unreadable_documents: number;
  dlq_messages: number;
  unreadable_dead_letters: number;
}

export interface VerifyReport {
  topic: string;
  ok: boolean;
  problems: string[];
  complete: boolean;
  stopped_by: ReadTopicResult["stoppedBy"] | null;
  messages: number;
  partitions: PartitionReport[];
  values: Record<ValueKind, number>;
  avro?: AvroSummary;
  schema?: SchemaSummary;
  expect_count?: { expected: number; ok: boolean };
  reconciliation?: ReconciliationReport;
  samples: Sample[];
}

export function buildVerifyReport(input: VerifyReportInput): VerifyReport {
  const { read, stats } = input;
  const problems: string[] = [];
  if (!read.complete) {
    const behind = read.partitions.filter((p) => !p.reached).map((p) => p.partition);
    problems.push(`read stopped (${read.stoppedBy ?? "unknown"}) before the end of partition(s) ${behind.join(", ")}`);
  }
  if (input.expectCount !== undefined && input.expectCount !== stats.messages) {
    problems.push(`expected ${input.expectCount} messages, found ${stats.messages}`);
  }
  const rec = input.reconciliation;
  if (rec && !rec.dlqComplete) problems.push(`dead-letter topic ${rec.dlqTopic} was not read to its end`);
  if (rec && rec.result.missingCount > 0) {
    const first = rec.result.missing.map(formatOffset).join(", ");
    problems.push(
      `${rec.result.missingCount} offset(s) neither in ${rec.mongo} nor in ${rec.dlqTopic} (first: ${first})`,
    );
  }

  return {
    topic: input.topic,
    ok: problems.length === 0,
    problems,
    complete: read.complete,
    stopped_by: read.stoppedBy ?? null,
    messages: stats.messages,
    partitions: read.partitions.map((range) => partitionReport(range, stats)),
    values: stats.values,
    ...(stats.avro ? { avro: stats.avro } : {}),
    ...(stats.schema ? { schema: stats.schema } : {}),
    ...(input.expectCount !== undefined
      ? { expect_count: { expected: input.expectCount, ok: input.expectCount === stats.messages } }
      : {}),
    ...(rec ? { reconciliation: reconciliationReport(rec) } : {}),
    samples: stats.samples,
  };
}

function partitionReport(range: PartitionRange, stats: TopicStatsReport): PartitionReport {
  const seen = stats.partitions.find((p) => p.partition === range.partition);
  return {
    partition: range.partition,
    count: seen?.count ?? 0,
    first_offset: seen?.firstOffset ?? null,
    last_offset: seen?.lastOffset ?? null,
    earliest: range.earliest,
    end: range.end,
    reached: range.reached,
  };
}

function reconciliationReport(rec: ReconciliationInput): ReconciliationReport {
  const r = rec.result;
  return {
    mongo: rec.mongo,
    dlq_topic: rec.dlqTopic,
    dlq_exists: rec.dlqExists,
    expected: r.expected,
    landed: r.landed,
    dead_lettered: r.deadLettered,
    missing_count: r.missingCount,
    missing: r.missing,
    duplicate_count: r.duplicateCount,
    duplicates: r.duplicates,
    documents: rec.documents,
    unexpected_documents: r.unexpectedDocuments,
    unreadable_documents: rec.unreadableDocuments,
    dlq_messages: rec.dlqMessages,
    unreadable_dead_letters: rec.unreadableDeadLetters,
  };
}

const formatOffset = (o: OffsetRef) => `${o.partition}:${o.offset}`;

export function formatVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  const state = report.complete ? "read to the end" : `INCOMPLETE (${report.stopped_by})`;
  lines.push(`topic ${report.topic}: ${report.messages} messages in ${report.partitions.length} partition(s), ${state}`);
  for (const p of report.partitions) {
    const range = p.first_offset === null ? "no messages" : `offsets ${p.first_offset}..${p.last_offset}`;
    lines.push(`  partition ${p.partition}: ${p.count} messages, ${range} (log ${p.earliest}..${p.end})`);
  }
  const v = report.values;
  lines.push(
    `values: ${v.json} JSON, ${v["invalid-json"]} invalid JSON, ${v["invalid-utf8"]} invalid UTF-8, ${v.empty} empty`,
  );
  if (report.avro) {
    const ids = Object.entries(report.avro.schema_ids).map(([id, n]) => `id ${id}: ${n}`).join(", ");
    lines.push(`avro: ${report.avro.decoded} decoded${ids ? ` (${ids})` : ""}, ${report.avro.undecodable} undecodable`);
    for (const [reason, count] of Object.entries(report.avro.reasons).sort((a, b) => b[1] - a[1])) lines.push(`  ${count}  ${reason}`);
  }
  if (report.schema) {
    lines.push(`schema ${report.schema.name}: ${report.schema.valid} valid, ${report.schema.invalid} invalid`);
    const reasons = Object.entries(report.schema.reasons).sort((a, b) => b[1] - a[1]);
    for (const [reason, count] of reasons) lines.push(`  ${count}  ${reason}`);
  }
  if (report.expect_count) {
    const verdict = report.expect_count.ok ? "ok" : "MISMATCH";
    lines.push(`expected count: ${report.expect_count.expected}, found ${report.messages}: ${verdict}`);
  }
  const r = report.reconciliation;
  if (r) {
    const dlq = r.dlq_exists ? `${r.dlq_topic} (${r.dlq_messages} messages)` : `${r.dlq_topic} (does not exist)`;
    lines.push(`reconciliation with ${r.mongo} (${r.documents} documents of this topic) and ${dlq}:`);
    lines.push(
      `  ${r.expected} offsets: ${r.landed} landed, ${r.dead_lettered} dead-lettered, ${r.missing_count} missing, ` +
        `${r.duplicate_count} with duplicate documents`,
    );
    if (r.missing_count > 0) lines.push(`  missing: ${r.missing.map(formatOffset).join(", ")}${more(r.missing_count, r.missing.length)}`);
    if (r.duplicate_count > 0) {
      const list = r.duplicates.map((d) => `${formatOffset(d)} (${d.documents} documents)`).join(", ");
      lines.push(`  duplicates: ${list}${more(r.duplicate_count, r.duplicates.length)}`);
    }
    if (r.unexpected_documents > 0) lines.push(`  ${r.unexpected_documents} document(s) for offsets not read from the topic`);
    if (r.unreadable_documents > 0) lines.push(`  ${r.unreadable_documents} document(s) without a usable _kafka_partition/_kafka_offset`);
  }
  if (report.samples.length > 0) {
    lines.push("samples:");
    for (const s of report.samples) {
      lines.push(`  ${s.partition}:${s.offset} key=${s.key === null ? "null" : JSON.stringify(s.key)} ${s.kind}: ${s.value ?? "null"}`);
    }
  }
  lines.push(report.ok ? "OK" : `FAILED: ${report.problems.join("; ")}`);
  return lines.join("\n");
}

function more(total: number, listed: number): string {
  return total > listed ? ` ... (${total - listed} more)` : "";
}
