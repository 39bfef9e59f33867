/**
 * zod field types for values read from INI files, where everything is text.
 * Messages say what was expected and never repeat the value given, so a
 * misplaced secret is not printed back.
 *
 * @example
 * z.object({ port: portField.default(27017), tls: booleanField.default(false) })
 */
import { z } from "zod";

const TRUE = ["true", "yes", "on", "1"];
const FALSE = ["false", "no", "off", "0"];

export const booleanField = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => TRUE.includes(v) || FALSE.includes(v), { error: "expected true or false" })
  .transform((v) => TRUE.includes(v));

export const portField = z
  .string()
  .trim()
  .regex(/^\d+$/, { error: "expected a port number" })
  .transform(Number)
  .refine((n) => n >= 1 && n <= 65535, { error: "expected a port number from 1 to 65535" });

export const textField = z.string().trim().min(1, { error: "must not be empty" });

export const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === undefined || v === "" ? undefined : v));

/** A whole number from `min` to `max`, e.g. bytes or milliseconds; `unit` names it in the message. */
export function wholeNumberField(unit: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const expected = `expected a whole number of ${unit} from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\d+$/, { error: expected })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: expected });
}
