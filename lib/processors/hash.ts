/**
 * The hash step: replaces fields by the lowercase hex SHA-256 of their UTF-8
 * string (seed 004), or by an HMAC-SHA-256 under a secret key.
 *
 * Why keyed: a plain SHA-256 of an IPv4 address is reversed by hashing all
 * 2^32 addresses (minutes on a laptop), and device ids or user ids from a
 * known format fall the same way. Without the key an HMAC cannot be
 * recomputed, so the hashes stay joinable for whoever holds the key and
 * useless to everyone else. The key comes from the pipeline file or the
 * environment, never from a flag (flags show in `ps` and shell history), and
 * never appears in logs or errors.
 *
 * Strings are hashed as they are; numbers and booleans as their JSON text;
 * objects and arrays as their JSON. A missing or null field stays as it is.
 *
 * @example
 * hashStep({ fields: ["ip"] }).run({ ip: "162.255.195.202" });
 * // { kind: "next", event: { ip: "<64 hex digits>" } }
 * hashStep({ fields: ["ip"], key: Buffer.from(process.env.KT_HASH_KEY!) });
 */
import { createHmac, hash } from "node:crypto";
import { next, type Step } from "./step.ts";

export interface HashOptions {
  fields: readonly string[];
  /** With a key: HMAC-SHA-256; without: plain SHA-256. */
  key?: Buffer;
}

export function hashStep(options: HashOptions): Step {
  const { fields, key } = options;
  const digest = key
    ? (text: string) => createHmac("sha256", key).update(text, "utf8").digest("hex")
    : (text: string) => sha256Hex(text);
  return {
    name: "hash",
    run(event) {
      for (const field of fields) {
        const value = event[field];
        if (value === undefined || value === null) continue;
        event[field] = digest(typeof value === "string" ? value : JSON.stringify(value));
      }
      return next(event);
    },
  };
}

/** Lowercase hex SHA-256 of a string's UTF-8 bytes (one-shot: a third of createHash's cost per field). */
export function sha256Hex(text: string): string {
  return hash("sha256", text, "hex");
}
