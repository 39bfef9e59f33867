/**
 * Metrics of a producing tool (produce-test-data): messages and bytes
 * acknowledged, messages failed for good, send latency per attempt, send
 * errors and retries. The counters equal the produce summary at the end.
 *
 * @example
 * const metrics = producerMetrics(registry, { tool: "produce-test-data", topic: "logins" });
 * await produceMessages({ ...options, producer: metrics.timed(producer), ...metrics.hooks });
 */
import type { Producer } from "kafkajs";
import { Counter, Histogram, type Registry } from "prom-client";
import { METRIC_PREFIX } from "./registry.ts";

export interface ProducerHooks {
  onAcknowledged(messages: number, bytes: number): void;
  onRetry(): void;
  onFailed(messages: number): void;
}

export interface ProducerMetrics {
  hooks: ProducerHooks;
  /** The producer's send, timed and its failures counted. */
  timed(producer: Pick<Producer, "send">): Pick<Producer, "send">;
}

const SEND_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function producerMetrics(registry: Registry, options: { tool: string; topic: string }): ProducerMetrics {
  const labels = { tool: options.tool, topic: options.topic };
  const registers = [registry];
  const labelNames = ["tool", "topic"] as const;
  const counter = (name: string, help: string) => {
    const c = new Counter({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers });
    c.inc(labels, 0);
    return c;
  };
  const sent = counter("produced_messages_total", "Messages acknowledged by the broker");
  const bytes = counter("produced_bytes_total", "Key and value bytes of the messages acknowledged");
  const failed = counter("produce_failed_messages_total", "Messages that failed for good, after retries");
  const retries = counter("producer_retries_total", "Sends retried after a failure");
  const errors = counter("producer_errors_total", "Send attempts that failed");
  const sendSeconds = new Histogram({
    name: `${METRIC_PREFIX}producer_send_duration_seconds`,
    help: "Time from send to acknowledgement of one produce request",
    labelNames,
    buckets: SEND_BUCKETS,
    registers,
  });
  sendSeconds.zero(labels);

  return {
    hooks: {
      onAcknowledged(messages, size) {
        sent.inc(labels, messages);
        bytes.inc(labels, size);
      },
      onRetry: () => retries.inc(labels),
      onFailed: (messages) => failed.inc(labels, messages),
    },
    timed: (producer) => ({
      send: async (record) => {
        const end = sendSeconds.startTimer(labels);
        try {
          return await producer.send(record);
        } catch (error) {
          errors.inc(labels);
          throw error;
        } finally {
          end();
        }
      },
    }),
  };
}
