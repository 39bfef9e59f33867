/**
 * Where writer schemas come from, by schema id: the Schema Registry (each id
 * fetched once, then cached for the run), or files for offline use (one .avsc
 * for every id, or a directory of `<id>.avsc`).
 *
 * @example
 * const schemas = registrySchemas(createRegistryClient({ url }));
 * const offline = fileSchemas("schemas/");   // schemas/7.avsc, schemas/8.avsc ...
 * const type = await schemas.typeFor(7);
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { errorMessage, UsageError } from "../errors.ts";
import type { RegistryClient } from "./registry-client.ts";
import { avroType, SchemaError, type AvroType, type AvroTypeOptions } from "./types.ts";

export interface SchemaLookup {
  /** Resolves to the compiled writer schema of `id`; rejects with SchemaNotFoundError, SchemaError or RegistryUnavailableError. */
  typeFor(id: number): Promise<AvroType>;
  /** For logs: where the schemas come from. */
  readonly source: string;
}

/** Schemas from the registry, each id asked for once; failures other than "unavailable" are cached too. */
export function registrySchemas(client: RegistryClient, options: AvroTypeOptions = {}): SchemaLookup {
  const cache = new Map<number, Promise<AvroType>>();
  return {
    source: client.url,
    typeFor(id) {
      let entry = cache.get(id);
      if (!entry) {
        entry = client.schemaById(id).then(({ schema, schemaType }) => {
          if (schemaType !== "AVRO") throw new SchemaError(`schema id ${id} is ${schemaType}, not AVRO`);
          return avroType(schema, options);
        });
        // An outage is not an answer: the next batch asks again.
        entry.catch((error: Error) => {
          if (error.name === "RegistryUnavailableError") cache.delete(id);
        });
        cache.set(id, entry);
      }
      return entry;
    },
  };
}

/**
 * Offline schemas from `path`: a file decodes every schema id with its one
 * schema; a directory holds `<id>.avsc` per schema id. Read at once, so a bad
 * file is a usage error before anything is consumed.
 */
export function fileSchemas(path: string, options: AvroTypeOptions = {}): SchemaLookup {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new UsageError(`--avro-schema: no such file or directory ${path}`);
  }
  if (!isDirectory) {
    const type = Promise.resolve(compileFile(path, options));
    return { source: path, typeFor: () => type };
  }
  const byId = new Map<number, AvroType>();
  for (const name of readdirSync(path)) {
    const match = /^(\d+)\.avsc$/.exec(name);
    if (match) byId.set(Number(match[1]), compileFile(join(path, name), options));
  }
  if (byId.size === 0) throw new UsageError(`--avro-schema: ${path} has no <id>.avsc files`);
  return {
    source: path,
    typeFor: (id) => {
      const type = byId.get(id);
      return type ? Promise.resolve(type) : Promise.reject(new SchemaError(`schema id ${id} has no file ${join(path, `${id}.avsc`)}`));
    },
  };
}

function compileFile(file: string, options: AvroTypeOptions): AvroType {
  try {
    return avroType(readFileSync(file, "utf8"), options);
  } catch (error) {
    throw new UsageError(`--avro-schema ${file}: ${errorMessage(error)}`);
  }
}
