#!/usr/bin/env node
/**
 * Runs `npm install` when node_modules is missing or older than package.json,
 * package-lock.json or a patch in patches/, so `npm run demo` and `npm test`
 * work on a fresh clone, and after a pull, with no other step. Plain Node on purpose: bun itself comes from npm and is
 * not there yet on a first run.
 *
 * Usage (package.json scripts): node scripts/ensure-deps.mjs && bun ...
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// npm writes this file last, after every package is in place.
const installed = join(root, "node_modules", ".package-lock.json");
const inputs = ["package.json", "package-lock.json"].map((f) => join(root, f)).filter(existsSync);
const patchDir = join(root, "patches");
const patches = existsSync(patchDir) ? readdirSync(patchDir).filter((f) => f.endsWith(".patch")) : [];

const mtime = (file) => statSync(file).mtimeMs;
// patch-package applies a patch onto the package as npm installed it, so a
// package whose patch changed is removed first and installed afresh.
const changedPatches = existsSync(installed) ? patches.filter((f) => mtime(join(patchDir, f)) > mtime(installed)) : [];
for (const patch of changedPatches) {
  const name = patch.replace(/\+[^+]*\.patch$/, "").replace("+", "/");
  rmSync(join(root, "node_modules", name), { recursive: true, force: true });
}
const stale = !existsSync(installed) || changedPatches.length > 0 || inputs.some((f) => mtime(f) > mtime(installed));
if (stale) {
  const why = !existsSync(installed) ? "no node_modules yet" : changedPatches.length ? `patches changed: ${changedPatches.join(", ")}` : "package.json or package-lock.json changed";
  console.log(`deps: npm install (${why}); the first time this fetches bun, kafkajs, the MongoDB driver and friends, about a minute`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["install", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`deps: npm install failed (exit ${result.status ?? result.signal}); fix the error above and run it again`);
    process.exit(1);
  }
}
