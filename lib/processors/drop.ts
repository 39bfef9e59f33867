/**
 * The drop step: removes fields from the event.
 *
 * @example
 * dropStep(["password"]).run({ user_id: "1", password: "x" }); // { kind: "next", event: { user_id: "1" } }
 */
import { next, type Step } from "./step.ts";

export function dropStep(fields: readonly string[]): Step {
  return {
    name: "drop",
    run(event) {
      for (const field of fields) delete event[field];
      return next(event);
    },
  };
}
