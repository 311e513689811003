/**
 * Journal records: each one whole or ignored. Layout (little-endian), 36 header bytes:
 *
 *   0  magic "OCJ1"
 *   4  body length (u32)
 *   8  flags (u8: bit 0 = text frame), 3 zero bytes
 *  12  message id (16 bytes, UUIDv7: ids sort by time)
 *  28  CRC-32 of the body (u32)
 *  32  CRC-32 of bytes 0..32 (u32)
 *  36  body
 *
 * The header has its own checksum so a damaged length is never trusted: a reader either finds a
 * valid header (and then waits for the body, or checks it) or resynchronises on the next magic.
 */
import { randomFillSync } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { IpcError } from '@openclaw-ipc/core';
import { parse as parseUuid } from 'uuid';

export const RECORD_MAGIC = Buffer.from('OCJ1', 'latin1');
export const RECORD_HEADER = 36;
const FLAG_TEXT = 1;

export interface JournalRecord {
  /** UUIDv7 of the message. */
  id: string;
  frame: Uint8Array | string;
  /** Offset just past this record, relative to the decoded buffer. */
  end: number;
}

/**
 * Encodes one record.
 * @throws IpcError INVALID_ARGUMENT when `id` is not a UUID.
 */
export function encodeRecord(id: string, frame: Uint8Array | string): Buffer {
  let idBytes: Uint8Array;
  try {
    idBytes = parseUuid(id);
  } catch (cause) {
    throw new IpcError('INVALID_ARGUMENT', `journal record id is not a UUID: ${id}`, { cause });
  }
  const bodyBytes = typeof frame === 'string' ? Buffer.byteLength(frame, 'utf8') : frame.byteLength;
  const out = Buffer.allocUnsafe(RECORD_HEADER + bodyBytes);
  writeRecord(out, 0, frame, idBytes);
  return out;
}

/**
 * Writes the record of `frame` at `offset` of `out`, which has room for it (RECORD_HEADER plus the
 * body's byte length), with the id `idBytes` or else a fresh UUIDv7. Returns the offset past it.
 * No intermediate buffer: a batch of records is encoded straight into the buffer written.
 */
export function writeRecord(
  out: Buffer,
  offset: number,
  frame: Uint8Array | string,
  idBytes?: Uint8Array,
): number {
  const bodyAt = offset + RECORD_HEADER;
  let bodyBytes: number;
  if (typeof frame === 'string') bodyBytes = out.write(frame, bodyAt, 'utf8');
  else {
    out.set(frame, bodyAt);
    bodyBytes = frame.byteLength;
  }
  RECORD_MAGIC.copy(out, offset);
  out.writeUInt32LE(bodyBytes, offset + 4);
  out.writeUInt32LE(typeof frame === 'string' ? FLAG_TEXT : 0, offset + 8);
  if (idBytes) out.set(idBytes, offset + 12);
  else writeUuidV7(out, offset + 12);
  out.writeUInt32LE(crc32Of(out, bodyAt, bodyAt + bodyBytes), offset + 28);
  out.writeUInt32LE(crc32Of(out, offset, offset + 32), offset + 32);
  return bodyAt + bodyBytes;
}

export interface DecodeResult {
  /** Whole, valid records, in order. */
  records: JournalRecord[];
  /** Bytes consumed: records and skipped damage. The rest is an incomplete tail (or nothing). */
  consumed: number;
  /** One PROTOCOL error per damaged stretch skipped. */
  errors: IpcError[];
}

/**
 * Decodes the records in `buf`, which starts at a record boundary (or in damage). Stops before an
 * incomplete record (a header whose body is not all there yet, or a partial header), leaving
 * it unconsumed; skips damage up to the next magic.
 * @param base the file offset of `buf[0]`, for error messages.
 */
export function decodeRecords(buf: Uint8Array, maxBody: number, base = 0): DecodeResult {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: JournalRecord[] = [];
  const errors: IpcError[] = [];
  let pos = 0;
  let damagedAt = -1;
  let slab: Uint8Array | undefined;
  let slabUsed = 0;
  const endDamage = (at: number) => {
    if (damagedAt < 0) return;
    errors.push(
      new IpcError(
        'PROTOCOL',
        `journal: skipped ${at - damagedAt} damaged bytes at offset ${base + damagedAt}`,
        {
          details: { offset: base + damagedAt, length: at - damagedAt },
        },
      ),
    );
    damagedAt = -1;
  };
  while (pos < b.length) {
    const remaining = b.length - pos;
    if (remaining < 4 ? !startsWithMagic(b, pos, remaining) : b.readUInt32LE(pos) !== MAGIC_U32) {
      if (damagedAt < 0) damagedAt = pos;
      pos = nextMagicOrEnd(b, pos + 1);
      continue;
    }
    if (remaining < RECORD_HEADER) break; // a partial header: wait for the rest
    if (!headerValid(b, pos, maxBody)) {
      if (damagedAt < 0) damagedAt = pos;
      pos = nextMagicOrEnd(b, pos + 1);
      continue;
    }
    const length = b.readUInt32LE(pos + 4);
    if (remaining - RECORD_HEADER < length) break; // the body is not all there yet
    const bodyAt = pos + RECORD_HEADER;
    if (crc32Of(b, bodyAt, bodyAt + length) !== b.readUInt32LE(pos + 28)) {
      if (damagedAt < 0) damagedAt = pos;
      pos = nextMagicOrEnd(b, pos + 1);
      continue;
    }
    endDamage(pos);
    const text = (b[pos + 8]! & FLAG_TEXT) !== 0;
    // Copied out: `buf` may be a buffer its owner reuses.
    let frame: Uint8Array | string;
    if (text) frame = b.toString('utf8', bodyAt, bodyAt + length);
    else if (length > SLAB_BYTES / 4) {
      frame = new Uint8Array(length);
      b.copy(frame, 0, bodyAt, bodyAt + length);
    } else {
      if (!slab || slabUsed + length > slab.byteLength) {
        slab = new Uint8Array(SLAB_BYTES);
        slabUsed = 0;
      }
      b.copy(slab, slabUsed, bodyAt, bodyAt + length);
      frame = slab.subarray(slabUsed, slabUsed + length);
      slabUsed += length;
    }
    records.push(new DecodedRecord(b, pos + 12, frame, bodyAt + length));
    pos = bodyAt + length;
  }
  endDamage(pos);
  return { records, consumed: pos, errors };
}

const MAGIC_U32 = RECORD_MAGIC.readUInt32LE(0);

/** Random bytes for ids, drawn 4 KiB at a time (one getrandom per ~400 ids, not one per 16). */
const RANDOM_POOL = Buffer.allocUnsafe(4096);
let poolUsed = RANDOM_POOL.length;

/**
 * Writes a fresh UUIDv7 (RFC 9562: 48-bit Unix milliseconds, version 7, variant 10, 74 random
 * bits) at `at`. Ids of one millisecond are not ordered among themselves; a segment's order is
 * the order of its records.
 */
function writeUuidV7(out: Buffer, at: number): void {
  out.writeUIntBE(Date.now(), at, 6);
  if (poolUsed + 10 > RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    poolUsed = 0;
  }
  RANDOM_POOL.copy(out, at + 6, poolUsed, poolUsed + 10);
  poolUsed += 10;
  out[at + 6] = 0x70 | (out[at + 6]! & 0x0f);
  out[at + 8] = 0x80 | (out[at + 8]! & 0x3f);
}
/**
 * Small binary frames are copied into shared slabs of this size, each frame a view of its own
 * bytes: one allocation per slab instead of one per frame. A frame kept by the application keeps
 * at most its slab alive, as a chunk of a Node stream does.
 */
const SLAB_BYTES = 64 * 1024;

function startsWithMagic(b: Buffer, pos: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (b[pos + i] !== RECORD_MAGIC[i]) return false;
  return true;
}

function headerValid(b: Buffer, pos: number, maxBody: number): boolean {
  if (b.readUInt32LE(pos) !== MAGIC_U32) return false;
  if (crc32Of(b, pos, pos + 32) !== b.readUInt32LE(pos + 32)) return false;
  if (b.readUInt32LE(pos + 4) > maxBody) return false;
  if (b[pos + 9] !== 0 || b[pos + 10] !== 0 || b[pos + 11] !== 0 || (b[pos + 8]! & ~FLAG_TEXT) !== 0)
    return false;
  return true;
}

/** A decoded record; its id is kept as four numbers and made into text only if read. */
class DecodedRecord implements JournalRecord {
  private readonly w0: number;
  private readonly w1: number;
  private readonly w2: number;
  private readonly w3: number;
  private text: string | undefined;
  constructor(
    b: Buffer,
    idAt: number,
    readonly frame: Uint8Array | string,
    readonly end: number,
  ) {
    this.w0 = b.readUInt32BE(idAt);
    this.w1 = b.readUInt32BE(idAt + 4);
    this.w2 = b.readUInt32BE(idAt + 8);
    this.w3 = b.readUInt32BE(idAt + 12);
  }
  /** The canonical text (no validation: the header checksum vouched for the bytes). */
  get id(): string {
    if (this.text === undefined) {
      const h = [this.w0, this.w1, this.w2, this.w3].map((w) => w.toString(16).padStart(8, '0')).join('');
      this.text = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    return this.text;
  }
}

/** CRC-32 table (IEEE, as zlib's crc32). */
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * CRC-32 of `b[start..end)`, as zlib's crc32. Ranges under 128 bytes (headers, small bodies) are
 * summed here, in about half the time of a call into zlib plus the view it needs; longer ones go
 * to zlib, faster from about 150 bytes on.
 */
function crc32Of(b: Buffer, start: number, end: number): number {
  if (end - start >= 128) return crc32(b.subarray(start, end));
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function nextMagic(b: Buffer, from: number): number {
  return b.indexOf(RECORD_MAGIC, from);
}

function nextMagicOrEnd(b: Buffer, from: number): number {
  const next = nextMagic(b, from);
  return next < 0 ? keepPrefix(b, from) : next;
}

/** The position of a trailing partial magic at or after `from`, or the end of `b`. */
function keepPrefix(b: Buffer, from: number): number {
  for (let k = Math.min(3, b.length - from); k > 0; k--) {
    if (b.subarray(b.length - k).equals(RECORD_MAGIC.subarray(0, k))) return b.length - k;
  }
  return b.length;
}
