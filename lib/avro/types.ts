/**
 * Avro schemas compiled with avsc, with values shaped for MongoDB:
 *
 * | Avro | JavaScript value | stored in MongoDB as |
 * | --- | --- | --- |
 * | long | bigint | Int64 (every digit kept) |
 * | timestamp-millis, timestamp-micros, local-timestamp-*, date | Date | Date |
 * | decimal (bytes or fixed) | Decimal128 (or its exact text with `decimals: "string"`) | Decimal128 |
 * | uuid (string) | string | String |
 * | bytes, fixed | Buffer | Binary |
 * | enum | string | String |
 * | union | the branch's value, unwrapped | that value |
 *
 * A union with two branches of one kind (two records, int and long...) cannot
 * be unwrapped without guessing, so those stay wrapped as `{ "<branch>": value }`.
 *
 * @example
 * const type = avroType('{"type":"record","name":"T","fields":[{"name":"n","type":"long"}]}');
 * type.decode(Buffer.from([0x02]), 0).value; // { n: 1n }
 */
import avro from "avsc";
import { Decimal128 } from "mongodb";
import { errorMessage } from "../errors.ts";

/** A schema that does not parse or compile. */
export class SchemaError extends Error {
  override name = "SchemaError";
}

export type AvroType = avro.Type;

const MICROS_PER_MS = 1000n;

/** long as bigint: a JS number would silently round values past 2^53. */
const BigIntLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.allocUnsafe(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (n: number | string) => BigInt(n),
  toJSON: (n: bigint) => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString()),
  isValid: (n: unknown) => typeof n === "bigint" || Number.isSafeInteger(n),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/** A logical type over an underlying type, converting with two functions. */
function logical<V, U>(fromUnderlying: (u: U) => V, toUnderlying: (v: V) => U, isValue: (v: unknown) => boolean) {
  return class extends avro.types.LogicalType {
    override _fromValue(u: U): V {
      return fromUnderlying(u);
    }
    override _toValue(v: unknown): U | undefined {
      return isValue(v) ? toUnderlying(v as V) : undefined;
    }
    override _resolve(type: avro.Type) {
      // Same underlying type written by another schema version: read it as is.
      if (avro.Type.isType(type, "logical:" + (this as unknown as { _logicalTypeName?: string })._logicalTypeName)) return (u: U) => u;
      return undefined;
    }
  };
}

const isDate = (v: unknown) => v instanceof Date;
const DAY_MS = 86_400_000;

const TimestampMillis = logical<Date, bigint | number>((u) => new Date(Number(u)), (d) => d.getTime(), isDate);
const TimestampMicros = logical<Date, bigint | number>(
  (u) => new Date(Number(BigInt(u) / MICROS_PER_MS)),
  (d) => d.getTime() * 1000,
  isDate,
);
const DateDays = logical<Date, number>((u) => new Date(u * DAY_MS), (d) => Math.floor(d.getTime() / DAY_MS), isDate);

/** decimal: the unscaled value is a big-endian two's complement integer. */
class DecimalType extends avro.types.LogicalType {
  /** Decimal128 by default; exact decimal text for stores without Decimal128 (FerretDB 1.x). */
  static asString = false;
  private readonly scale: number;
  private readonly size?: number;
  constructor(attrs: { scale?: number; size?: number; type: unknown }, opts?: unknown) {
    super(attrs as never, opts as never);
    this.scale = attrs.scale ?? 0;
    // On a fixed, the decimal's attributes are the fixed's own: its size pads the bytes.
    if (attrs.type === "fixed") this.size = attrs.size;
  }
  override _fromValue(buf: Buffer): Decimal128 | string {
    let unscaled = 0n;
    for (const byte of buf) unscaled = (unscaled << 8n) | BigInt(byte);
    if (buf.length > 0 && (buf[0]! & 0x80) !== 0) unscaled -= 1n << BigInt(buf.length * 8);
    const decimal = Decimal128.fromString(this.scale === 0 ? unscaled.toString() : `${unscaled}E-${this.scale}`);
    return (this.constructor as typeof DecimalType).asString ? decimal.toString() : decimal;
  }
  override _toValue(value: unknown): Buffer | undefined {
    // By tag, not instanceof: another copy of the bson package makes equal values.
    if ((value as { _bsontype?: string } | null)?._bsontype !== "Decimal128" && typeof value !== "string") return undefined;
    return toTwosComplement(unscaledOf(String(value), this.scale), this.size);
  }
}

function unscaledOf(text: string, scale: number): bigint {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:E([+-]?\d+))?$/i.exec(text);
  if (!match) throw new Error(`not a decimal: ${text}`);
  const [, sign, whole = "", fraction = "", exponent = "0"] = match;
  let digits = BigInt(`${whole}${fraction}` || "0");
  const shift = scale - fraction.length + Number(exponent);
  digits = shift >= 0 ? digits * 10n ** BigInt(shift) : digits / 10n ** BigInt(-shift);
  return sign ? -digits : digits;
}

function toTwosComplement(n: bigint, size?: number): Buffer {
  let length = size ?? 1;
  while (size === undefined && (n >= 1n << BigInt(length * 8 - 1) || n < -(1n << BigInt(length * 8 - 1)))) length++;
  const buf = Buffer.alloc(length);
  let v = n < 0n ? (1n << BigInt(length * 8)) + n : n;
  for (let i = length - 1; i >= 0; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return buf;
}

class DecimalStringType extends DecimalType {
  static override asString = true;
}

export interface AvroTypeOptions {
  /** "decimal128" (default) or "string": exact decimal text, for FerretDB 1.x, which cannot store Decimal128. */
  decimals?: "decimal128" | "string";
}

const logicalTypes = (options: AvroTypeOptions) =>
  ({
    "timestamp-millis": TimestampMillis,
    "timestamp-micros": TimestampMicros,
    "local-timestamp-millis": TimestampMillis,
    "local-timestamp-micros": TimestampMicros,
    date: DateDays,
    decimal: options.decimals === "string" ? DecimalStringType : DecimalType,
  }) as unknown as Record<string, new (schema: avro.Schema, opts?: unknown) => avro.types.LogicalType>;

/** Compiles an Avro schema (JSON text or parsed) into a type that decodes to MongoDB-ready values. */
export function avroType(schema: string | object, options: AvroTypeOptions = {}): AvroType {
  let parsed: unknown = schema;
  if (typeof schema === "string") {
    try {
      parsed = JSON.parse(schema);
    } catch (error) {
      // A bare primitive name such as "string" is valid Avro but not valid JSON.
      if (/^\s*[A-Za-z_][\w.]*\s*$/.test(schema)) parsed = schema.trim();
      else throw new SchemaError(`schema is not valid JSON: ${errorMessage(error)}`);
    }
  }
  const compile = (wrapUnions: boolean | "auto") =>
    avro.Type.forSchema(parsed as avro.Schema, { registry: { long: BigIntLong }, logicalTypes: logicalTypes(options), wrapUnions, omitRecordMethods: true });
  try {
    try {
      return compile(false);
    } catch (error) {
      if (!/ambiguous/i.test(errorMessage(error))) throw error;
      return compile("auto");
    }
  } catch (error) {
    throw new SchemaError(`invalid Avro schema: ${errorMessage(error)}`);
  }
}
