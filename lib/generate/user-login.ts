/**
 * The user-login event of the original pipeline (seeds 001 and 004): its
 * zod schema, used to verify topics, and a generator for test data.
 *
 * @example
 * const event = userLoginEvent(createRandom(1), Date.UTC(2025, 2, 18));
 * // { user_id: "123", app_version: "2.3.0", ip: "162.255.195.202", locale: "NE",
 * //   device_id: "0bcbfec0-...", timestamp: 1742256000, device_type: "android" }
 * userLoginSchema.safeParse(event).success; // true
 */
import { isIP } from "node:net";
import { z } from "zod";
import type { Random } from "./random.ts";

export const userLoginSchema = z.object({
  user_id: z.string().min(1),
  app_version: z.string().regex(/^\d+\.\d+\.\d+$/, { error: "expected a semantic version" }),
  ip: z.string().refine((ip) => isIP(ip) !== 0, { error: "expected an IP address" }),
  locale: z.string().min(1),
  device_id: z.string().min(1),
  timestamp: z.number().int().nonnegative(),
  device_type: z.string().min(1),
});

export type UserLoginEvent = z.infer<typeof userLoginSchema>;

// Seed 004 filters on app_version 2.3.0, so most events carry it.
const APP_VERSIONS = ["2.3.0", "2.3.0", "2.3.0", "2.3.0", "2.2.1", "1.0.0"] as const;
const DEVICE_TYPES = ["android", "iOS"] as const;
const LOCALES = [
  "AL", "AK", "AZ", "CA", "CO", "FL", "GA", "IL", "MA", "MI", "MN", "NE", "NY", "OH", "OR", "PA", "TX", "WA",
] as const;

/** One event at `timeMs`; the timestamp field is in unix seconds, as in the seeds. */
export function userLoginEvent(random: Random, timeMs: number): UserLoginEvent {
  return {
    user_id: String(random.int(1, 99_999)),
    app_version: random.pick(APP_VERSIONS),
    ip: `${random.int(1, 223)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`,
    locale: random.pick(LOCALES),
    device_id: random.uuid(),
    timestamp: Math.floor(timeMs / 1000),
    device_type: random.pick(DEVICE_TYPES),
  };
}
