/**
 * The rdma transport's control frames, carried in the unix transport's u32-LE length-prefixed
 * frames. Every frame starts with one kind byte:
 *
 *   0x00 DATA        the rest is one message of the RPC dialect (inline: small payloads)
 *   0x01 HELLO       msgpack map {v, provider, pid, ...provider handshake}: first frame each way
 *   0x02 RENDEZVOUS  msgpack map {id, provider, key, addr, length, arena?, crc, part?}: a
 *                    message too large to go inline, registered by the sender; the receiver
 *                    reads it one-sidedly, checks the CRC32C and answers RELEASE. With
 *                    `part: true` it is an out-of-band value of the next message (see
 *                    out-of-band.ts), which the receiver hands to the dialect with it
 *   0x03 RELEASE     msgpack map {id, ok, reason?}: the receiver is done with a rendezvous
 *                    region (read, or failed): the sender deregisters it
 *
 * decodeControl() checks every field; anything else is an IpcError PROTOCOL, never a crash.
 */
import { IpcError, msgpackCodec } from '@openclaw-ipc/core';
import type { ProviderName, RegionDescriptor } from './providers/provider.js';

export const KIND_DATA = 0x00;
export const KIND_HELLO = 0x01;
export const KIND_RENDEZVOUS = 0x02;
export const KIND_RELEASE = 0x03;

/** Version of the control protocol spoken in HELLO. */
export const CONTROL_VERSION = 1;

export interface Hello {
  kind: 'hello';
  v: number;
  provider: ProviderName;
  pid: number;
  /** The provider endpoint's handshake (see ProviderEndpoint.handshake). */
  handshake: Record<string, unknown>;
}

export interface Rendezvous {
  kind: 'rendezvous';
  /** The sender's id of this transfer (echoed in RELEASE). */
  id: number;
  region: RegionDescriptor;
  /** CRC32C of the `region.length` bytes. */
  crc: number;
  /**
   * An out-of-band value of the next message (DATA or RENDEZVOUS without `part`), not a
   * message itself.
   */
  part?: boolean;
}

export interface Release {
  kind: 'release';
  id: number;
  ok: boolean;
  reason?: string;
}

export interface Data {
  kind: 'data';
  message: Uint8Array;
}

export type ControlFrame = Hello | Rendezvous | Release | Data;

// Bodies are standard MessagePack in core's one configuration (msgpackCodec): u64 exact, a
// bigint encodes as int64/uint64, 64-bit integers decode as numbers when exact, BigInts above 2^53.
const pack = (value: unknown): Uint8Array => msgpackCodec.encode(value);

const PROVIDERS: readonly string[] = ['shm', 'cma', 'verbs'];
const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

function tagged(kind: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.byteLength + 1);
  out[0] = kind;
  out.set(body, 1);
  return out;
}

/** A DATA frame: the kind byte, then the message (one copy). */
export function encodeData(message: Uint8Array): Uint8Array {
  return tagged(KIND_DATA, message);
}

export function encodeHello(hello: Omit<Hello, 'kind'>): Uint8Array {
  return tagged(
    KIND_HELLO,
    pack({ ...hello.handshake, v: hello.v, provider: hello.provider, pid: hello.pid }),
  );
}

export function encodeRendezvous(r: Omit<Rendezvous, 'kind'>): Uint8Array {
  const body: Record<string, unknown> = {
    id: r.id,
    provider: r.region.provider,
    key: r.region.key,
    addr: r.region.addr,
    length: r.region.length,
    crc: r.crc,
  };
  if (r.region.arena !== undefined) body.arena = r.region.arena;
  if (r.part) body.part = true;
  return tagged(KIND_RENDEZVOUS, pack(body));
}

export function encodeRelease(r: Omit<Release, 'kind'>): Uint8Array {
  const body: Record<string, unknown> = { id: r.id, ok: r.ok };
  if (r.reason !== undefined) body.reason = r.reason.slice(0, 512);
  return tagged(KIND_RELEASE, pack(body));
}

const bad = (what: string): IpcError => new IpcError('PROTOCOL', `rdma control: ${what}`);

function body(frame: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = msgpackCodec.decode(frame.subarray(1));
  } catch (err) {
    throw new IpcError('PROTOCOL', `rdma control: undecodable frame body: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array)
    throw bad('frame body is not a map');
  return value as Record<string, unknown>;
}

function uint(v: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    throw bad(`${name} is not an integer from 0 to ${max}`);
  return v;
}

function u64(v: unknown, name: string): bigint {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n && v <= U64_MAX) return v;
  throw bad(`${name} is not a u64`);
}

function provider(v: unknown): ProviderName {
  if (typeof v !== 'string' || !PROVIDERS.includes(v)) throw bad('unknown provider');
  return v as ProviderName;
}

/**
 * Decodes one control frame. `maxLength` bounds the length a RENDEZVOUS may announce.
 * @throws IpcError PROTOCOL for anything malformed; MESSAGE_TOO_LARGE over maxLength.
 */
export function decodeControl(frame: Uint8Array, maxLength: number): ControlFrame {
  if (!(frame instanceof Uint8Array) || frame.byteLength === 0) throw bad('empty frame');
  switch (frame[0]) {
    case KIND_DATA:
      return { kind: 'data', message: frame.subarray(1) };
    case KIND_HELLO: {
      const b = body(frame);
      const handshake: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(b))
        if (k !== 'v' && k !== 'provider' && k !== 'pid') handshake[k] = v;
      return {
        kind: 'hello',
        v: uint(b.v, 'v', 0xffff),
        provider: provider(b.provider),
        pid: uint(b.pid, 'pid', 0x7fff_ffff),
        handshake,
      };
    }
    case KIND_RENDEZVOUS: {
      const b = body(frame);
      const length = uint(b.length, 'length');
      if (length > maxLength)
        throw new IpcError(
          'MESSAGE_TOO_LARGE',
          `rdma rendezvous of ${length} bytes is over the limit of ${maxLength} bytes`,
          { details: { size: length, limit: maxLength } },
        );
      const region: { -readonly [K in keyof RegionDescriptor]: RegionDescriptor[K] } = {
        provider: provider(b.provider),
        key: uint(b.key, 'key', U32_MAX),
        addr: u64(b.addr, 'addr'),
        length,
      };
      if (b.arena !== undefined) region.arena = uint(b.arena, 'arena', U32_MAX);
      const out: Rendezvous = {
        kind: 'rendezvous',
        id: uint(b.id, 'id'),
        region,
        crc: uint(b.crc, 'crc', U32_MAX),
      };
      if (b.part !== undefined) {
        if (typeof b.part !== 'boolean') throw bad('part is not a boolean');
        if (b.part) out.part = true;
      }
      return out;
    }
    case KIND_RELEASE: {
      const b = body(frame);
      if (typeof b.ok !== 'boolean') throw bad('ok is not a boolean');
      const out: Release = { kind: 'release', id: uint(b.id, 'id'), ok: b.ok };
      if (b.reason !== undefined) {
        if (typeof b.reason !== 'string') throw bad('reason is not a string');
        out.reason = b.reason.slice(0, 512);
      }
      return out;
    }
    default:
      throw bad(`unknown frame kind 0x${frame[0]!.toString(16).padStart(2, '0')}`);
  }
}
