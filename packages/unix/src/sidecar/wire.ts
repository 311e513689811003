/**
 * The two encodings of a sidecar message: `array` (rmp-serde's compact form, written by the
 * Rust engine: the envelope and every struct as an array in field order, None as nil) and
 * `map` (vmihailenco/msgpack's default, written by the Go sidecar: field names, empty optional
 * fields left out). Reading accepts both, and a mix of them, as the Rust reader does.
 *
 * Writing is done here, field by field from the schema, rather than by a generic packer: the
 * widths are then exactly the protocol's (u64 as a MessagePack uint, never int64 or float).
 */
import { IpcError, msgpackCodec } from '@openclaw-ipc/core';
import { type FieldSpec, isSidecarVariant, SIDECAR_FIELDS, type SidecarVariant } from './messages.js';

export type SidecarEncoding = 'array' | 'map';

const U64_LIMIT = 1n << 64n;
const TWO_POW_53 = 2 ** 53;

/** A growable output buffer; messages are small, so it starts at 128 bytes. */
class Writer {
  private buf = Buffer.allocUnsafe(128);
  private pos = 0;

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  nil(): void {
    this.byte(0xc0);
  }

  bool(v: boolean): void {
    this.byte(v ? 0xc3 : 0xc2);
  }

  /** An unsigned integer in its smallest form, as rmp writes it. */
  uint(v: number | bigint): void {
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER)) v = Number(v);
    if (typeof v === 'bigint') {
      this.reserve(9);
      this.buf[this.pos] = 0xcf;
      this.buf.writeBigUInt64BE(v, this.pos + 1);
      this.pos += 9;
    } else if (v < 0x80) this.byte(v);
    else if (v < 0x100) {
      this.reserve(2);
      this.buf[this.pos] = 0xcc;
      this.buf[this.pos + 1] = v;
      this.pos += 2;
    } else if (v < 0x10000) {
      this.reserve(3);
      this.buf[this.pos] = 0xcd;
      this.buf.writeUInt16BE(v, this.pos + 1);
      this.pos += 3;
    } else if (v < 0x100000000) {
      this.reserve(5);
      this.buf[this.pos] = 0xce;
      this.buf.writeUInt32BE(v, this.pos + 1);
      this.pos += 5;
    } else {
      this.reserve(9);
      this.buf[this.pos] = 0xcf;
      this.buf.writeBigUInt64BE(BigInt(v), this.pos + 1);
      this.pos += 9;
    }
  }

  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    if (n < 32) this.byte(0xa0 | n);
    else if (n < 0x100) this.header(0xd9, n, 1);
    else if (n < 0x10000) this.header(0xda, n, 2);
    else this.header(0xdb, n, 4);
    this.reserve(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  array(n: number): void {
    if (n < 16) this.byte(0x90 | n);
    else if (n < 0x10000) this.header(0xdc, n, 2);
    else this.header(0xdd, n, 4);
  }

  map(n: number): void {
    if (n < 16) this.byte(0x80 | n);
    else if (n < 0x10000) this.header(0xde, n, 2);
    else this.header(0xdf, n, 4);
  }

  private header(code: number, n: number, width: 1 | 2 | 4): void {
    this.reserve(1 + width);
    this.buf[this.pos] = code;
    if (width === 1) this.buf[this.pos + 1] = n;
    else if (width === 2) this.buf.writeUInt16BE(n, this.pos + 1);
    else this.buf.writeUInt32BE(n, this.pos + 1);
    this.pos += 1 + width;
  }

  /** The written bytes (a copy sized exactly, so the scratch buffer is not retained). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

const serializationError = (why: string) => new IpcError('SERIALIZATION', `sidecar: ${why}`);

function checkUint(value: unknown, bits: 16 | 32 | 64, where: string): number | bigint {
  // Decimal strings too, for callers that come from JSON (which cannot hold a u64 exactly).
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) value = BigInt(value);
  if (typeof value === 'bigint') {
    if (value >= 0n && value < 2n ** BigInt(bits)) return bits < 64 ? Number(value) : value;
  } else if (typeof value === 'number' && Number.isInteger(value) && value >= 0) {
    if (value < 2 ** bits) return value;
  }
  throw serializationError(`${where} must be a u${bits}, got ${describe(value)}`);
}

function writeField(w: Writer, spec: FieldSpec, value: unknown, where: string): void {
  switch (spec.kind) {
    case 'u16':
      w.uint(checkUint(value, 16, where));
      return;
    case 'u32':
      w.uint(checkUint(value, 32, where));
      return;
    case 'u64':
      w.uint(checkUint(value, 64, where));
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw serializationError(`${where} must be a boolean`);
      w.bool(value);
      return;
    case 'string':
      if (typeof value !== 'string') throw serializationError(`${where} must be a string`);
      w.str(value);
      return;
    case 'strings':
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
        throw serializationError(`${where} must be an array of strings`);
      w.array(value.length);
      for (const s of value) w.str(s);
  }
}

/**
 * Encodes one message in the given form.
 * @throws IpcError SERIALIZATION when `data` does not fit the variant's struct.
 */
export function encodeSidecar(variant: SidecarVariant, data: unknown, encoding: SidecarEncoding): Buffer {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw serializationError(`${variant} data must be an object`);
  const record = data as Record<string, unknown>;
  const fields = SIDECAR_FIELDS[variant].filter((s) => !s.readOnly);
  const w = new Writer();
  if (encoding === 'array') {
    w.array(2);
    w.str(variant);
    w.array(fields.length);
    for (const spec of fields) {
      const value = record[spec.name];
      if (value == null && spec.optional) w.nil();
      else writeField(w, spec, value, `${variant}.${spec.name}`);
    }
    return w.finish();
  }
  const present = fields.filter((s) => !(s.optional && record[s.name] == null));
  w.map(2);
  w.str('type');
  w.str(variant);
  w.str('data');
  w.map(present.length);
  for (const spec of present) {
    w.str(spec.name);
    writeField(w, spec, record[spec.name], `${variant}.${spec.name}`);
  }
  return w.finish();
}

// ---- reading ----

const protocolError = (why: string) => new IpcError('PROTOCOL', `sidecar: ${why}`);

function describe(value: unknown): string {
  if (value === null) return 'nil';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'bigint') return 'a large integer';
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : 'a fraction';
  return `a ${typeof value}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** An envelope whose variant is known to be one of the nine, data not yet checked. */
export interface RawEnvelope {
  /** The envelope's `type`, whatever string it was. */
  type: string;
  data: unknown;
  encoding: SidecarEncoding;
}

/**
 * Decodes the MessagePack document of one frame and takes its envelope apart.
 * @throws IpcError SERIALIZATION (not one MessagePack document) or PROTOCOL (not an envelope).
 */
export function readEnvelope(bytes: Uint8Array): RawEnvelope {
  let value: unknown;
  try {
    // core's one MessagePack configuration: 64-bit integers as numbers when exact, BigInts above 2^53
    value = msgpackCodec.decode(bytes);
  } catch (cause) {
    throw new IpcError('SERIALIZATION', `sidecar: ${(cause as Error).message}`, { cause });
  }
  if (Array.isArray(value)) {
    if (value.length !== 2 || typeof value[0] !== 'string')
      throw protocolError('an array envelope must be [type, data]');
    return { type: value[0], data: value[1], encoding: 'array' };
  }
  if (isRecord(value)) {
    const type = Object.hasOwn(value, 'type') ? value.type : undefined;
    if (typeof type !== 'string') throw protocolError('a map envelope needs a string `type`');
    return { type, data: Object.hasOwn(value, 'data') ? value.data : undefined, encoding: 'map' };
  }
  throw protocolError(`the envelope is ${describe(value)}, not an array or a map`);
}

function readUint(value: unknown, bits: 16 | 32 | 64, where: string): number | bigint {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) {
    if (bits === 64 ? value <= TWO_POW_53 : value < 2 ** bits) return value;
  } else if (typeof value === 'bigint' && bits === 64 && value >= 0n && value < U64_LIMIT) {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  throw protocolError(`${where} must be a u${bits}, got ${describe(value)}`);
}

function readField(spec: FieldSpec, value: unknown, where: string): unknown {
  switch (spec.kind) {
    case 'u16':
      return readUint(value, 16, where);
    case 'u32':
      return readUint(value, 32, where);
    case 'u64':
      return readUint(value, 64, where);
    case 'bool':
      if (typeof value !== 'boolean') throw protocolError(`${where} must be a boolean`);
      return value;
    case 'string':
      if (typeof value !== 'string') throw protocolError(`${where} must be a string`);
      return value;
    case 'strings':
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
        throw protocolError(`${where} must be an array of strings`);
      return value;
  }
}

/**
 * Checks the data of a known variant against its struct and returns it as a plain object
 * (optional fields that are nil or absent are left out).
 * @throws IpcError PROTOCOL naming the first wrong field.
 */
export function readData(variant: SidecarVariant, data: unknown): Record<string, unknown> {
  const fields = SIDECAR_FIELDS[variant];
  const out: Record<string, unknown> = {};
  if (Array.isArray(data)) {
    const required = fields.filter((s) => !s.optional).length;
    if (data.length < required || data.length > fields.length)
      throw protocolError(`${variant} needs ${required} to ${fields.length} fields, got ${data.length}`);
    fields.forEach((spec, i) => {
      const value = data[i];
      if (value == null && spec.optional) return;
      out[spec.name] = readField(spec, value, `${variant}.${spec.name}`);
    });
    return out;
  }
  if (!isRecord(data)) throw protocolError(`${variant} data is ${describe(data)}, not a struct`);
  for (const spec of fields) {
    const value = Object.hasOwn(data, spec.name) ? data[spec.name] : undefined;
    if (value == null && spec.optional) continue;
    if (value === undefined) throw protocolError(`${variant} has no \`${spec.name}\``);
    out[spec.name] = readField(spec, value, `${variant}.${spec.name}`);
  }
  return out;
}

/** Decodes one frame into a checked message; unknown variants are a PROTOCOL error. */
export function decodeSidecar(bytes: Uint8Array): {
  type: SidecarVariant;
  data: Record<string, unknown>;
  encoding: SidecarEncoding;
} {
  const env = readEnvelope(bytes);
  if (!isSidecarVariant(env.type)) throw protocolError(`unknown message type ${JSON.stringify(env.type)}`);
  return { type: env.type, data: readData(env.type, env.data), encoding: env.encoding };
}
