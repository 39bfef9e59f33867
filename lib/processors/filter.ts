/**
 * The filter step: keeps events whose field equals one of the given values
 * (seed 004 keeps app_version "2.3.0"); the others are filtered, with a
 * reason naming the field and its value. `exclude` inverts it: events whose
 * field matches are the ones filtered.
 *
 * @example
 * const step = filterStep({ field: "app_version", equals: ["2.3.0"] });
 * step.run({ app_version: "1.0.0" }); // { kind: "filtered", reason: "app_version is '1.0.0', not '2.3.0'" }
 */
import { describeValue, filtered, next, type Step } from "./step.ts";

export interface FilterOptions {
  field: string;
  /** Values compared with ===; a missing field matches none. */
  equals: readonly unknown[];
  /** Filter the matching events instead of keeping them. */
  exclude?: boolean;
}

export function filterStep(options: FilterOptions): Step {
  const { field, equals, exclude = false } = options;
  const wanted = equals.map((v) => describeValue(v)).join(" or ");
  return {
    name: "filter",
    run(event) {
      const value = event[field];
      const matches = equals.includes(value);
      if (matches !== exclude) return next(event);
      return filtered(exclude ? `${field} is ${describeValue(value)}` : `${field} is ${describeValue(value)}, not ${wanted}`);
    },
  };
}
