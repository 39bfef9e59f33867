/**
 * Writes topics with Apache Kafka's own Java producer (tests/fixtures/JavaProducer.java,
 * run from the stack's jars), so tests read data no kafkajs client wrote: every
 * compression codec, committed and aborted transactions, headers in an order
 * kafkajs' object cannot hold (JAVA_HEADERS). One JVM writes them all.
 *
 * @example
 * await javaProduce([{ topic: "t-zstd", compression: "zstd", plan: "plain:100" },
 *                    { topic: "t-tx", compression: "none", plan: "commit:5,abort:3" }]);
 */
import { resolve } from "node:path";
import { KAFKA_LIBS } from "../../stack/config.ts";
import { REPO_ROOT } from "./run-tool.ts";
import { localKafka } from "./stack-fixtures.ts";

export interface JavaTopic {
  topic: string;
  compression: "none" | "gzip" | "snappy" | "lz4" | "zstd";
  /** Comma list of `plain:N`, `commit:N`, `abort:N`, `headers:N` steps; see JavaProducer.java. */
  plan: string;
}

/** The headers of message n of a `headers` step, in the order the Java producer writes them. */
export function javaHeaders(n: number): [name: string, value: Buffer | null][] {
  return [
    ["b", Buffer.from("1")],
    ["a", Buffer.from("2")],
    ["b", Buffer.from("3")],
    ["10", Buffer.from("x")],
    ["9", Buffer.from("y")],
    ["empty", null],
    ["bin", Buffer.from([0xff, 0x00, 0xc3])],
    ["n", Buffer.from(String(n))],
  ];
}

export async function javaProduce(topics: JavaTopic[], brokers = localKafka.brokers): Promise<void> {
  const proc = Bun.spawn(
    [
      "java",
      "-cp",
      `${KAFKA_LIBS}/*`,
      resolve(REPO_ROOT, "tests/fixtures/JavaProducer.java"),
      brokers.join(","),
      ...topics.map((t) => `${t.topic}=${t.compression}=${t.plan}`),
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`JavaProducer exited ${code}: ${stderr.split("\n").filter((l) => !/SLF4J|log4j/.test(l)).join("\n")}`);
  for (const { topic } of topics) {
    if (!stdout.includes(` to ${topic}\n`)) throw new Error(`JavaProducer did not write ${topic}: ${stdout}`);
  }
}
