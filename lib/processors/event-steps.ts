/**
 * Runs one message value through a pipeline's decode step and event steps,
 * and classifies it as exactly one of processed, filtered or error, naming
 * the step that decided.
 *
 * @example
 * const verdict = processEvent(record.value, buildEventSteps(pipeline, { env: process.env }));
 * if (verdict.kind === "processed") send(JSON.stringify(verdict.event));
 */
import type { Event, Step, StepVerdict } from "./step.ts";
import { errorMessage } from "../errors.ts";

export interface EventSteps {
  decode: (value: Buffer | null) => StepVerdict;
  steps: Step[];
}

export type EventVerdict =
  | { kind: "processed"; event: Event }
  | { kind: "filtered"; reason: string; stage: string }
  | { kind: "error"; reason: string; stage: string };

export function processEvent(value: Buffer | null, { decode, steps }: EventSteps): EventVerdict {
  let verdict = decode(value);
  if (verdict.kind !== "next") return { ...verdict, stage: "decode" };
  for (const step of steps) {
    try {
      verdict = step.run(verdict.event);
    } catch (error) {
      return { kind: "error", reason: `step failed: ${errorMessage(error)}`, stage: step.name };
    }
    if (verdict.kind !== "next") return { ...verdict, stage: step.name };
  }
  return { kind: "processed", event: verdict.event };
}
