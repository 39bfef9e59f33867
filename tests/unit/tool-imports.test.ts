/**
 * --help must answer fast, so no tool loads a driver before its flags are
 * parsed: kafkajs, mongodb and postgres are reached only through dynamic import().
 * Checked on the static import graph (bench/help-latency.ts measures the time).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const LOADED_AFTER_FLAGS = new Set(["kafkajs", "mongodb", "postgres"]);
const transpiler = new Bun.Transpiler({ loader: "ts" });

/** Packages a file loads at startup, each with the chain of files that leads to it. */
function staticPackages(file: string, chain: string[] = [], seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const here = [...chain, file.slice(ROOT.length + 1)];
  // scanImports drops type-only imports, which cost nothing at run time.
  return transpiler.scanImports(readFileSync(file, "utf8")).flatMap((imp) => {
    if (imp.kind !== "import-statement") return [];
    if (imp.path.startsWith(".")) return staticPackages(resolve(dirname(file), imp.path), here, seen);
    return imp.path.startsWith("node:") ? [] : [`${imp.path} via ${here.join(" > ")}`];
  });
}

describe("tools load drivers after parsing flags", () => {
  for (const tool of readdirSync(resolve(ROOT, "tools")).filter((f) => f.endsWith(".ts"))) {
    test(tool, () => {
      const drivers = staticPackages(resolve(ROOT, "tools", tool)).filter((p) => LOADED_AFTER_FLAGS.has(p.split(" ")[0]!));
      expect(drivers).toEqual([]);
    });
  }
});
