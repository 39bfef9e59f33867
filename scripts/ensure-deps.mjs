#!/usr/bin/env node
/**
 * Runs `npm install` when node_modules is missing or older than package.json
 * or package-lock.json, so `npm run demo` and `npm test` work on a fresh clone
 * with no other step. Plain Node on purpose: bun itself comes from npm and is
 * not there yet on a first run.
 *
 * Usage (package.json scripts): node scripts/ensure-deps.mjs && bun ...
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// npm writes this file last, after every package is in place.
const installed = join(root, "node_modules", ".package-lock.json");
const inputs = ["package.json", "package-lock.json"].map((f) => join(root, f)).filter(existsSync);

const mtime = (file) => statSync(file).mtimeMs;
const stale = !existsSync(installed) || inputs.some((f) => mtime(f) > mtime(installed));
if (stale) {
  const why = existsSync(installed) ? "package.json or package-lock.json changed" : "no node_modules yet";
  console.log(`deps: npm install (${why}); the first time this fetches bun, kafkajs, the MongoDB driver and friends, about a minute`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["install", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`deps: npm install failed (exit ${result.status ?? result.signal}); fix the error above and run it again`);
    process.exit(1);
  }
}
