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
  const body = typeof frame === 'string' ? Buffer.from(frame, 'utf8') : frame;
  const out = Buffer.allocUnsafe(RECORD_HEADER + body.byteLength);
  RECORD_MAGIC.copy(out, 0);
  out.writeUInt32LE(body.byteLength, 4);
  out.writeUInt32LE(typeof frame === 'string' ? FLAG_TEXT : 0, 8);
  let idBytes: Uint8Array;
  try {
    idBytes = parseUuid(id);
  } catch (cause) {
    throw new IpcError('INVALID_ARGUMENT', `journal record id is not a UUID: ${id}`, { cause });
  }
  out.set(idBytes, 12);
  out.set(body, RECORD_HEADER);
  out.writeUInt32LE(crc32(body), 28);
  out.writeUInt32LE(crc32(out.subarray(0, 32)), 32);
  return out;
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
    const head = Math.min(4, remaining);
    if (!b.subarray(pos, pos + head).equals(RECORD_MAGIC.subarray(0, head))) {
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
    const body = b.subarray(pos + RECORD_HEADER, pos + RECORD_HEADER + length);
    if (crc32(body) !== b.readUInt32LE(pos + 28)) {
      if (damagedAt < 0) damagedAt = pos;
      pos = nextMagicOrEnd(b, pos + 1);
      continue;
    }
    endDamage(pos);
    const id = formatUuid(b, pos + 12);
    const text = (b[pos + 8]! & FLAG_TEXT) !== 0;
    pos += RECORD_HEADER + length;
    records.push({ id, frame: text ? body.toString('utf8') : new Uint8Array(body), end: pos });
  }
  endDamage(pos);
  return { records, consumed: pos, errors };
}

function headerValid(b: Buffer, pos: number, maxBody: number): boolean {
  if (!b.subarray(pos, pos + 4).equals(RECORD_MAGIC)) return false;
  if (crc32(b.subarray(pos, pos + 32)) !== b.readUInt32LE(pos + 32)) return false;
  if (b.readUInt32LE(pos + 4) > maxBody) return false;
  if (b[pos + 9] !== 0 || b[pos + 10] !== 0 || b[pos + 11] !== 0 || (b[pos + 8]! & ~FLAG_TEXT) !== 0)
    return false;
  return true;
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

/** The canonical text of the 16 bytes at `at` (no validation: the header checksum vouched for them). */
function formatUuid(b: Buffer, at: number): string {
  const h = b.toString('hex', at, at + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
