/**
 * Prints `N passed, N failed` from bun's JUnit report, the line CI reads.
 * Exits 1 when the report is missing, unreadable or has any failure.
 *
 * Usage: bun .ci/junit-counts.ts test-results/junit.xml
 */
import { existsSync, readFileSync } from "node:fs";

const path = process.argv[2] ?? "test-results/junit.xml";
if (!existsSync(path)) {
  console.log("0 passed, 1 failed");
  console.error(`ci: no JUnit report at ${path}: the test run did not finish`);
  process.exit(1);
}
const xml = readFileSync(path, "utf8");
const root = /<testsuites\b([^>]*)>/.exec(xml)?.[1] ?? "";
const attribute = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(root)?.[1] ?? 0);
const tests = attribute("tests");
const failed = attribute("failures") + attribute("errors");
const skipped = attribute("skipped");
const passed = tests - failed - skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || tests === 0 ? 1 : 0);
