/**
 * The require step: fields that must be present. A field that is absent or
 * null makes the event an error naming the first missing field.
 *
 * @example
 * const step = requireStep(["user_id", "ip"]);
 * step.run({ user_id: "1" }); // { kind: "error", reason: "missing field 'ip'" }
 */
import { next, rejected, type Step } from "./step.ts";

export function requireStep(fields: readonly string[]): Step {
  return {
    name: "require",
    run(event) {
      for (const field of fields) {
        const value = event[field];
        if (value === undefined) return rejected(`missing field '${field}'`);
        if (value === null) return rejected(`field '${field}' is null`);
      }
      return next(event);
    },
  };
}
