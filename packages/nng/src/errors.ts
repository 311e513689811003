/**
 * nng errno numbers (stable in nng.h) and their IpcError codes.
 */
import { IpcError, type IpcErrorCode } from '@openclaw-ipc/core';

export const NNG_ETIMEDOUT = 5;
export const NNG_ECONNREFUSED = 6;
export const NNG_ECLOSED = 7;
export const NNG_ESTATE = 11;
export const NNG_EMSGSIZE = 17;
export const NNG_ECONNRESET = 19;
export const NNG_ECANCELED = 20;
export const NNG_ECONNSHUT = 31;
const NNG_ESYSERR = 0x10000000;
const NNG_ETRANERR = 0x20000000;

const names: Record<number, string> = {
  1: 'EINTR',
  2: 'ENOMEM',
  3: 'EINVAL',
  4: 'EBUSY',
  5: 'ETIMEDOUT',
  6: 'ECONNREFUSED',
  7: 'ECLOSED',
  8: 'EAGAIN',
  9: 'ENOTSUP',
  10: 'EADDRINUSE',
  11: 'ESTATE',
  12: 'ENOENT',
  13: 'EPROTO',
  14: 'EUNREACHABLE',
  15: 'EADDRINVAL',
  16: 'EPERM',
  17: 'EMSGSIZE',
  18: 'ECONNABORTED',
  19: 'ECONNRESET',
  20: 'ECANCELED',
  21: 'ENOFILES',
  22: 'ENOSPC',
  23: 'EEXIST',
  24: 'EREADONLY',
  25: 'EWRITEONLY',
  26: 'ECRYPTO',
  27: 'EPEERAUTH',
  28: 'ENOARG',
  29: 'EAMBIGUOUS',
  30: 'EBADTYPE',
  31: 'ECONNSHUT',
  1000: 'EINTERNAL',
};

const codes: Record<string, IpcErrorCode> = {
  ETIMEDOUT: 'TIMEOUT',
  ECLOSED: 'CLOSED',
  ECANCELED: 'ABORTED',
  EMSGSIZE: 'MESSAGE_TOO_LARGE',
  ECONNREFUSED: 'CONNECT',
  EUNREACHABLE: 'CONNECT',
  ECONNABORTED: 'CONNECT',
  ECONNRESET: 'CONNECT',
  ECONNSHUT: 'CONNECT',
  EADDRINUSE: 'CONNECT',
  EADDRINVAL: 'INVALID_ARGUMENT',
  EINVAL: 'INVALID_ARGUMENT',
  ENOENT: 'INVALID_ARGUMENT',
  EBADTYPE: 'INVALID_ARGUMENT',
  EREADONLY: 'INVALID_ARGUMENT',
  EWRITEONLY: 'INVALID_ARGUMENT',
  ENOTSUP: 'UNAVAILABLE',
  EPROTO: 'PROTOCOL',
  ESTATE: 'PROTOCOL',
  ECRYPTO: 'AUTH',
  EPEERAUTH: 'AUTH',
  EPERM: 'AUTH',
  ENOMEM: 'CAPACITY',
  ENOSPC: 'CAPACITY',
  ENOFILES: 'CAPACITY',
  EAGAIN: 'CAPACITY',
  EBUSY: 'CAPACITY',
};

/** The symbolic name of an nng errno ("ECLOSED", "ESYSERR(111)", …). */
export function nngErrorName(errno: number): string {
  if (errno & NNG_ESYSERR) return `ESYSERR(${errno & ~NNG_ESYSERR})`;
  if (errno & NNG_ETRANERR) return `ETRANERR(${errno & ~NNG_ETRANERR})`;
  return names[errno] ?? `E${errno}`;
}

/** The IpcError for an nng errno; `details` carries `{ errno, nng, ...extra }`. */
export function nngError(errno: number, what: string, extra: Record<string, unknown> = {}): IpcError {
  const name = nngErrorName(errno);
  const code: IpcErrorCode = codes[name] ?? (errno & NNG_ESYSERR ? 'CONNECT' : 'PROTOCOL');
  return new IpcError(code, `${what}: nng ${name}`, { details: { errno, nng: name, ...extra } });
}

/** Converts an error thrown synchronously by the addon (it carries `errno`) into an IpcError. */
export function fromNative(err: unknown, what: string): IpcError {
  if (err instanceof IpcError) return err;
  const errno = (err as { errno?: unknown } | null)?.errno;
  if (typeof errno === 'number') {
    const e = nngError(errno, what);
    (e as { cause?: unknown }).cause = err;
    return e;
  }
  return new IpcError('INVALID_ARGUMENT', `${what}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  });
}
