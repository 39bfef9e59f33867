/**
 * The flags every tool that reads Avro shares: where writer schemas come from.
 * `--avro-schema PATH` decodes offline (one .avsc for every schema id, or a
 * directory of `<id>.avsc`); otherwise the `[schema_registry]` section (or the
 * one `--schema-registry` names) is used.
 *
 * @example
 * const spec = defineTool({ ..., options: { ...AVRO_OPTIONS, ... } });
 * const decoder = await avroDecoderFromFlags(flags, ctx.config, ctx.signal);
 */
import type { Flags, OptionSpec } from "../cli/flags.ts";
import { schemaRegistrySection } from "../config/schema-registry-section.ts";
import type { ConfigSource } from "../config/source.ts";
import { avroDecoder, type AvroDecoder } from "./decoder.ts";
import { createRegistryClient, type RegistryClient } from "./registry-client.ts";

export const AVRO_OPTIONS = {
  "schema-registry": {
    type: "string",
    value: "SECTION",
    description: "Schema Registry section of the config, for Avro",
    defaultText: "schema_registry",
  },
  "avro-schema": {
    type: "string",
    value: "PATH",
    description: "Decode Avro without a registry: one .avsc for every schema id, or a directory of <id>.avsc",
  },
  "avro-decimals": {
    type: "string",
    value: "AS",
    description: "Avro decimals as decimal128, or string (exact text; FerretDB 1.x cannot store Decimal128)",
    defaultText: "decimal128",
  },
} satisfies Record<string, OptionSpec>;

/** The registry client of the section --schema-registry names. */
export function registryFromFlags(flags: Flags, config: () => ConfigSource, signal?: AbortSignal): RegistryClient {
  const section = schemaRegistrySection(config(), flags.string("schema-registry", "schema_registry"));
  return createRegistryClient({ ...section, signal });
}

/** A decoder from --avro-schema, or else from the registry section. */
export async function avroDecoderFromFlags(flags: Flags, config: () => ConfigSource, signal?: AbortSignal): Promise<AvroDecoder> {
  const path = flags.string("avro-schema");
  // avsc and the bson types load here, not with --help.
  const { fileSchemas, registrySchemas } = await import("./schemas.ts");
  const options = { decimals: flags.choice("avro-decimals", ["decimal128", "string"] as const, "decimal128") };
  return avroDecoder(path ? fileSchemas(path, options) : registrySchemas(registryFromFlags(flags, config, signal), options));
}
