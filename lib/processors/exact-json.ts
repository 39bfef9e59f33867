/**
 * JSON that keeps every digit of large integers. JSON.parse turns
 * 1234567890123456789 into the double 1234567890123456800; this parse gives
 * integers beyond ±2^53 as BigInt instead. Fast on ordinary messages: it runs
 * JSON.parse first and parses again, exactly, only when the text holds a run
 * of 16 or more digits and the result really has an integer beyond ±2^53.
 *
 * @example
 * parseJsonExact('{"id": 1234567890123456789, "n": 1}'); // { id: 1234567890123456789n, n: 1 }
 * parseJsonExact('{"n": 1.5}');                          // { n: 1.5 } (JSON.parse's own result)
 */

// 2^53 has 16 digits: no shorter run of digits can be an unsafe integer.
const LONG_DIGIT_RUN = /\d{16}/;

/**
 * Parses JSON; an integer beyond ±2^53 becomes `bigInteger(digits)`, a
 * BigInt unless told otherwise. Invalid JSON throws JSON.parse's SyntaxError.
 */
export function parseJsonExact(text: string, bigInteger: (digits: string) => unknown = BigInt): unknown {
  const value: unknown = JSON.parse(text);
  if (text.length < 16 || !LONG_DIGIT_RUN.test(text) || !hasUnsafeInteger(value)) return value;
  return new ExactParser(text, bigInteger).parse();
}

function hasUnsafeInteger(value: unknown): boolean {
  if (typeof value === "number") return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (value === null || typeof value !== "object") return false;
  // An explicit stack: the value may be nested deeper than the call stack allows.
  const stack: object[] = [value];
  while (stack.length) {
    const node = stack.pop()!;
    for (const item of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof item === "number") {
        if (Number.isInteger(item) && !Number.isSafeInteger(item)) return true;
      } else if (item !== null && typeof item === "object") stack.push(item);
    }
  }
  return false;
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\]|\\.)*"/y;
const WHITESPACE = /[ \t\n\r]*/y;

/** A second pass over text JSON.parse has already accepted, so errors are not expected. */
class ExactParser {
  private at = 0;
  constructor(
    private readonly text: string,
    private readonly bigInteger: (digits: string) => unknown,
  ) {}

  parse(): unknown {
    const value = this.value();
    this.skipWhitespace();
    if (this.at !== this.text.length) throw new SyntaxError(`unexpected text at ${this.at}`);
    return value;
  }

  private value(): unknown {
    this.skipWhitespace();
    const char = this.text[this.at];
    if (char === "{") return this.object();
    if (char === "[") return this.array();
    if (char === '"') return this.string();
    if (char === "t" || char === "f" || char === "n") {
      const word = char === "t" ? "true" : char === "f" ? "false" : "null";
      this.at += word.length;
      return char === "t" ? true : char === "f" ? false : null;
    }
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (!match) throw new SyntaxError(`unexpected character at ${this.at}`);
    this.at += match[0].length;
    const isInteger = match[1] === undefined && match[2] === undefined;
    const number = Number(match[0]);
    return isInteger && !Number.isSafeInteger(number) ? this.bigInteger(match[0]) : number;
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.at++;
    this.skipWhitespace();
    if (this.text[this.at] === "}") {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      const key = this.string();
      this.skipWhitespace();
      this.at++; // ':'
      const value = this.value();
      // As JSON.parse does: "__proto__" is an own field, never the prototype.
      if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
      this.skipWhitespace();
      if (this.text[this.at++] === "}") return out;
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.at++;
    this.skipWhitespace();
    if (this.text[this.at] === "]") {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipWhitespace();
      if (this.text[this.at++] === "]") return out;
    }
  }

  private string(): string {
    STRING.lastIndex = this.at;
    const match = STRING.exec(this.text);
    if (!match) throw new SyntaxError(`expected a string at ${this.at}`);
    this.at += match[0].length;
    return JSON.parse(match[0]);
  }

  private skipWhitespace(): void {
    WHITESPACE.lastIndex = this.at;
    WHITESPACE.exec(this.text);
    this.at = WHITESPACE.lastIndex;
  }
}
