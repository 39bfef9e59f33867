/**
 * Rows in PostgreSQL's COPY text format: one line per row, tab between
 * values, `\N` for NULL, and backslash, tab, newline and carriage return
 * escaped. Values that need no escape (nearly all) are copied as they are.
 *
 * @example
 * copyText([["a", null, "b\tc"]]); // "a\t\\N\tb\\tc\n"
 */
const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

export function copyText(rows: readonly (readonly (string | null)[])[]): string {
  let text = "";
  for (const row of rows) {
    for (let c = 0; c < row.length; c++) {
      const value = row[c];
      if (c > 0) text += "\t";
      text += value === null || value === undefined ? "\\N" : SPECIAL.test(value) ? value.replace(SPECIALS, (ch) => ESCAPES[ch]!) : value;
    }
    text += "\n";
  }
  return text;
}
