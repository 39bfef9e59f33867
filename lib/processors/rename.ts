/**
 * The rename step: moves fields to new names (a missing field is left
 * missing; an existing target is overwritten).
 *
 * @example
 * renameStep({ ts: "timestamp" }).run({ ts: 1 }); // { kind: "next", event: { timestamp: 1 } }
 */
import { next, type Step } from "./step.ts";

export function renameStep(names: Readonly<Record<string, string>>): Step {
  const entries = Object.entries(names);
  return {
    name: "rename",
    run(event) {
      for (const [from, to] of entries) {
        if (!(from in event)) continue;
        const value = event[from];
        delete event[from];
        event[to] = value;
      }
      return next(event);
    },
  };
}
