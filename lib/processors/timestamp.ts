/**
 * The timestamp step: replaces an epoch number by its ISO-8601 UTC text,
 * exactly as JavaScript's `toISOString()` writes it
 * (`2025-03-18T21:05:26.000Z`). With unit "auto" a value above 10^11 is
 * milliseconds, anything else seconds (10^11 seconds is the year 5138, 10^11
 * ms is 1973). Numeric strings are not accepted: validate the field first.
 *
 * @example
 * timestampStep({ field: "timestamp" }).run({ timestamp: 1742331926 });
 * // { kind: "next", event: { timestamp: "2025-03-18T21:05:26.000Z" } }
 */
import { describeValue, next, rejected, type Step } from "./step.ts";

export type EpochUnit = "auto" | "s" | "ms";

export interface TimestampOptions {
  field: string;
  unit?: EpochUnit;
}

/** Above this an "auto" epoch is in milliseconds. */
export const AUTO_MS_ABOVE = 1e11;

export function timestampStep(options: TimestampOptions): Step {
  const { field, unit = "auto" } = options;
  return {
    name: "timestamp",
    run(event) {
      const value = event[field];
      if (typeof value !== "number" || !Number.isFinite(value)) {
        return rejected(`field '${field}' is ${describeValue(value)}, not an epoch number`);
      }
      const iso = epochToIso(value, unit);
      if (iso === undefined) return rejected(`field '${field}' is ${value}, outside the dates ISO-8601 can write`);
      event[field] = iso;
      return next(event);
    },
  };
}

/** ISO-8601 UTC text of an epoch value, or undefined when no Date can hold it. */
export function epochToIso(value: number, unit: EpochUnit = "auto"): string | undefined {
  const ms = unit === "ms" || (unit === "auto" && value > AUTO_MS_ABOVE) ? value : value * 1000;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
