/**
 * Keeps secrets out of logs, errors and --help.
 *
 * @example
 * redactUri("mongodb://app:s3cret@db:27017/x"); // "mongodb://app:***@db:27017/x"
 * redactFields({ user: "a", password: "b" });    // { user: "a", password: "***" }
 */

const SECRET_KEY = /pass(word)?|secret|token|credential|jaas|sasl_?password/i;

/** True when a key names something that must never be printed. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Masks the password of any `scheme://user:password@host` in a string. */
export function redactUri(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, "$1***@");
}

/** A shallow copy of `fields` with secret keys masked and URIs scrubbed. */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (isSecretKey(key)) out[key] = "***";
    else if (typeof value === "string") out[key] = redactUri(value);
    else out[key] = value;
  }
  return out;
}
