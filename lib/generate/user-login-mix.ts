/**
 * A seeded mix of user-login messages that exercises every branch of the
 * user-login pipeline (config/pipelines/user-login.json), at fixed, documented
 * shares. Produced by `produce-test-data --generator user-login-mix`.
 *
 * | share | variant | expected outcome |
 * | ---: | --- | --- |
 * | 55% | valid, app_version 2.3.0 | processed |
 * | 5% | valid, timestamp in milliseconds | processed |
 * | 5% | locale and/or device_type missing | processed, with "unknown" |
 * | 15% | another app_version (2.2.1, 1.0.0) | filtered |
 * | 5% | app_version missing (becomes "unknown") | filtered |
 * | 5% | a required field missing (user_id, ip, device_id, timestamp) | error |
 * | 5% | a required field of the wrong type | error |
 * | 3% | bad JSON (truncated) | error |
 * | 2% | invalid UTF-8 or an empty value | error |
 *
 * @example
 * const random = createRandom(7);
 * const { value, variant, outcome } = userLoginMixMessage(random, SEEDED_EPOCH_MS);
 */
import { badValue, type BadKind } from "./bad.ts";
import type { Random } from "./random.ts";
import { userLoginEvent } from "./user-login.ts";

export type MixOutcome = "processed" | "filtered" | "error";

export interface MixVariant {
  name: string;
  /** Share of messages, in percent. */
  percent: number;
  outcome: MixOutcome;
}

export const USER_LOGIN_MIX: readonly MixVariant[] = [
  { name: "valid", percent: 55, outcome: "processed" },
  { name: "timestamp-ms", percent: 5, outcome: "processed" },
  { name: "optional-missing", percent: 5, outcome: "processed" },
  { name: "other-app-version", percent: 15, outcome: "filtered" },
  { name: "app-version-missing", percent: 5, outcome: "filtered" },
  { name: "required-missing", percent: 5, outcome: "error" },
  { name: "wrong-type", percent: 5, outcome: "error" },
  { name: "invalid-json", percent: 3, outcome: "error" },
  { name: "invalid-utf8-or-empty", percent: 2, outcome: "error" },
];

const REQUIRED = ["user_id", "ip", "device_id", "timestamp"] as const;
const OTHER_VERSIONS = ["2.2.1", "1.0.0"] as const;

export interface MixMessage {
  key: string;
  value: Buffer;
  variant: string;
  outcome: MixOutcome;
  /** Set for the variants that are malformed in the sense of {@link BadKind}. */
  bad?: BadKind;
}

export function userLoginMixMessage(random: Random, timeMs: number): MixMessage {
  const event: Record<string, unknown> = { ...userLoginEvent(random, timeMs), app_version: "2.3.0" };
  const key = String(event.user_id);
  const variant = pickVariant(random.int(0, 99));
  const json = (value: unknown, bad?: BadKind): MixMessage => ({ key, value: Buffer.from(JSON.stringify(value)), variant: variant.name, outcome: variant.outcome, bad });
  switch (variant.name) {
    case "timestamp-ms":
      return json({ ...event, timestamp: timeMs });
    case "optional-missing": {
      const which = random.int(0, 2);
      if (which !== 1) delete event.locale;
      if (which !== 0) delete event.device_type;
      return json(event);
    }
    case "other-app-version":
      return json({ ...event, app_version: random.pick(OTHER_VERSIONS) });
    case "app-version-missing":
      delete event.app_version;
      return json(event);
    case "required-missing":
      delete event[random.pick(REQUIRED)];
      return json(event, "missing-fields");
    case "wrong-type": {
      const field = random.pick(REQUIRED);
      const wrong = field === "timestamp" ? String(event.timestamp) : field === "ip" ? random.int(0, 99_999) : random.pick([0, "", null, true]);
      return json({ ...event, [field]: wrong }, "wrong-types");
    }
    case "invalid-json":
      return { key, value: badValue("invalid-json", event, REQUIRED, random), variant: variant.name, outcome: variant.outcome, bad: "invalid-json" };
    case "invalid-utf8-or-empty": {
      const bad: BadKind = random.int(0, 1) === 0 ? "invalid-utf8" : "empty";
      return { key, value: badValue(bad, event, REQUIRED, random), variant: variant.name, outcome: variant.outcome, bad };
    }
    default:
      return json(event);
  }
}

function pickVariant(roll: number): MixVariant {
  let upTo = 0;
  for (const variant of USER_LOGIN_MIX) {
    upTo += variant.percent;
    if (roll < upTo) return variant;
  }
  return USER_LOGIN_MIX[0]!;
}
