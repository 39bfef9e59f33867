/**
 * The item message of seed 003: a UUID key, a JSON value and two headers.
 * Its zod schema verifies topics; the generator builds test data.
 *
 * @example
 * const item = itemMessage(createRandom(1), Date.UTC(2023, 6, 15));
 * item.value.name;                 // "item_04718263"
 * item.headers["content-type"];    // "application/json"
 */
import { z } from "zod";
import type { Random } from "./random.ts";

export const itemSchema = z.object({
  id: z.uuid(),
  name: z.string().regex(/^item_\d{8}$/, { error: "expected item_ and 8 digits" }),
  created_at: z.iso.datetime({ error: "expected an ISO 8601 UTC timestamp" }),
  metadata: z.object({ source: z.string(), version: z.string() }).optional(),
});

export type Item = z.infer<typeof itemSchema>;

export interface ItemMessage {
  value: Item;
  headers: { "content-type": "application/json"; created_at: string };
}

const SOURCES = ["system-a", "system-b", "system-c"] as const;
const VERSIONS = ["1.0.0", "1.1.0", "2.0.0"] as const;

export function itemMessage(random: Random, timeMs: number): ItemMessage {
  const createdAt = new Date(timeMs).toISOString();
  return {
    value: {
      id: random.uuid(),
      name: `item_${random.digits(8)}`,
      created_at: createdAt,
      metadata: { source: random.pick(SOURCES), version: random.pick(VERSIONS) },
    },
    headers: { "content-type": "application/json", created_at: createdAt },
  };
}
