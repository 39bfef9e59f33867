/**
 * kafkajs 2.2.4's request queue schedules setTimeout(fn, throttledUntil - now)
 * with throttledUntil = -1 (tulios/kafkajs#1751), and Bun reports a
 * TimeoutNegativeWarning for it in every process that talks to Kafka. The
 * timer still fires (after 1 ms); only the noise goes. Other warnings are
 * still printed.
 *
 * @example
 * ignoreKafkajsNegativeTimeouts(); // once per process, before kafkajs runs
 */

let installed = false;

export function ignoreKafkajsNegativeTimeouts(): void {
  if (installed) return;
  installed = true;
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name !== "TimeoutNegativeWarning") process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
}
