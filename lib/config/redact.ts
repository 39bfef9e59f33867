/**
 * Keeps secrets out of logs, errors and --help.
 *
 * @example
 * redactUri("mongodb://app:s3cret@db:27017/x");          // "mongodb://app:***@db:27017/x"
 * redactUri("postgres://db/x?sslmode=require&password=s"); // "postgres://db/x?sslmode=require&password=***"
 * redactFields({ user: "a", kafka: { password: "b" } });  // { user: "a", kafka: { password: "***" } }
 */

const SECRET_KEY = /pass(word)?|secret|token|credential|jaas|api_?key|access_?key|private_?key/i;

/** True when a key names something that must never be printed. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

// The password runs to the last `@` before any query or fragment, so one
// holding an unescaped `/` or `@` is masked whole.
const URI_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^\s?#]*@/gi;
// A `?key=value` or `&key=value` pair, as in a URI's query string.
const QUERY_PAIR = /([?&;])([^=&;#\s?]+)=([^&;#\s]*)/g;

/** Masks the password of any `scheme://user:password@host`, and secret query parameters, in a string. */
export function redactUri(text: string): string {
  return text.replace(URI_PASSWORD, "$1***@").replace(QUERY_PAIR, (pair, sep: string, key: string) => {
    let name = key;
    try {
      name = decodeURIComponent(key);
    } catch {
      // A malformed escape: judge the name as written.
    }
    return isSecretKey(name) ? `${sep}${key}=***` : pair;
  });
}

/** Deepest nesting redactFields walks; below it a value is replaced, not printed unchecked. */
const MAX_DEPTH = 8;

/**
 * A copy of `fields` with secret keys masked and URIs scrubbed, at any depth
 * (objects, arrays, errors' messages).
 */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactValue(fields, 0, new WeakSet()) as Record<string, unknown>;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isWalkable(value: unknown): value is object {
  return value !== null && typeof value === "object" && (Array.isArray(value) || isPlainObject(value));
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === "string") return redactUri(value);
  if (value instanceof Error) return redactUri(value.message);
  // Class instances (ObjectId, Long, Buffer, Date...) are data printed by their own
  // toJSON, not settings: only plain objects and arrays are walked.
  if (!isWalkable(value)) return value;
  if (depth >= MAX_DEPTH) return "[nested too deep]";
  if (seen.has(value)) return "[circular]";
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, seen));
    const out: Record<string, unknown> = {};
    // Under a secret-looking key only a plain value is masked: an object there is
    // more likely data keyed by name (a topic called "password-resets") and is walked.
    for (const [key, v] of Object.entries(value)) out[key] = isSecretKey(key) && !isWalkable(v) ? "***" : redactValue(v, depth + 1, seen);
    return out;
  } finally {
    // A value seen twice side by side (not a cycle) is printed both times.
    seen.delete(value);
  }
}
