/**
 * The contract of a processing step of process-events: a small function that
 * looks at one decoded event and lets it go on (possibly changed), filters it
 * out, or rejects it as an error. Steps are declared in a pipeline file
 * (see pipeline-file.ts) and run in order by event-steps.ts.
 *
 * @example
 * const dropInternal: Step = {
 *   name: "filter",
 *   run: (event) => (event.internal ? filtered("internal event") : next(event)),
 * };
 */

/** A decoded event: a JSON object's fields. */
export type Event = Record<string, unknown>;

export type StepVerdict =
  /** Go on to the next step with this event (the same object, changed in place, or a new one). */
  | { kind: "next"; event: Event }
  /** Deliberately dropped (another app version, ...): counted, optionally sent to the filtered topic. */
  | { kind: "filtered"; reason: string }
  /** Bad input: goes to the errors topic with the reason. */
  | { kind: "error"; reason: string };

export interface Step {
  /** The step's kind as written in the pipeline file; names the stage of an error. */
  readonly name: string;
  run(event: Event): StepVerdict;
}

export function next(event: Event): StepVerdict {
  return { kind: "next", event };
}

export function filtered(reason: string): StepVerdict {
  return { kind: "filtered", reason };
}

export function rejected(reason: string): StepVerdict {
  return { kind: "error", reason };
}

/** Short, safe rendering of a value for a reason text (never a whole payload). */
export function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  const text = typeof value === "string" ? `'${value}'` : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** JSON type name of a value, for error reasons. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
