/**
 * The defaults step: fills fields that are absent or null with a fixed value
 * (seed 001: app_version, locale and device_type become "unknown").
 *
 * @example
 * const step = defaultsStep({ locale: "unknown" });
 * step.run({ user_id: "1" }); // { kind: "next", event: { user_id: "1", locale: "unknown" } }
 */
import { next, type Step } from "./step.ts";

export function defaultsStep(values: Readonly<Record<string, unknown>>): Step {
  const entries = Object.entries(values);
  return {
    name: "defaults",
    run(event) {
      for (const [field, value] of entries) {
        if (event[field] === undefined || event[field] === null) event[field] = value;
      }
      return next(event);
    },
  };
}
