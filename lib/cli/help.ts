/**
 * The one --help layout every tool prints.
 *
 * @example
 * console.log(helpText(spec));
 */
import { COMMON_OPTIONS, type OptionSpec, type ToolSpec } from "./flags.ts";

export function helpText(spec: ToolSpec): string {
  const lines = [`${spec.name} - ${spec.summary}`, "", `Usage: bun tools/${spec.name}.ts [flags]`];
  if (spec.description?.length) lines.push("", ...spec.description);
  lines.push("", "Flags:", ...optionLines(spec.options));
  lines.push("", "Common flags:", ...optionLines(COMMON_OPTIONS));
  lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  lines.push(
    "",
    "Configuration: database.ini sections, overridden by KT_<SECTION>_<KEY> environment",
    "variables, overridden by flags. Exit codes: 0 success, 1 runtime failure,",
    "2 usage or configuration error.",
  );
  return lines.join("\n");
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const entries = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.value ? ` ${o.value}` : ""}`;
    const repeat = o.multiple ? " (repeatable)" : "";
    const fallback = o.defaultText ? ` (default: ${o.defaultText})` : "";
    return [flag, `${o.description}${repeat}${fallback}`] as const;
  });
  const width = Math.min(30, Math.max(...entries.map(([flag]) => flag.length)) + 2);
  return entries.map(([flag, text]) =>
    flag.length + 2 > width ? `  ${flag}\n  ${" ".repeat(width)}${text}` : `  ${flag.padEnd(width)}${text}`,
  );
}
