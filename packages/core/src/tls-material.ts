/**
 * TLS material given as options (certificates, keys, CAs): PEM text, or the path of a PEM file.
 * Node-only (it reads files); the transports that speak TLS (ws's wss://, nng's tls+tcp:// and
 * wss://) resolve their options through it, so the same option takes either form everywhere.
 */
import { readFileSync } from 'node:fs';
import { IpcError } from './errors.js';

/** A PEM text (string or bytes) or the path of a file holding one. */
export type PemSource = string | Uint8Array;

const PEM_HEADER = '-----BEGIN ';

/**
 * The PEM text of `source`: itself when it holds a PEM header, else the contents of the file it
 * names. Throws INVALID_ARGUMENT naming `option` when the file cannot be read or holds no PEM.
 */
export function pemText(source: PemSource, option: string): string {
  const text = typeof source === 'string' ? source : Buffer.from(source).toString('utf8');
  if (text.includes(PEM_HEADER)) return text;
  if (typeof source !== 'string')
    throw new IpcError('INVALID_ARGUMENT', `${option}: the bytes given hold no PEM block`);
  let contents: string;
  try {
    contents = readFileSync(source, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new IpcError('INVALID_ARGUMENT', `${option}: cannot read ${source} (${code})`, { cause: err });
  }
  if (!contents.includes(PEM_HEADER))
    throw new IpcError('INVALID_ARGUMENT', `${option}: ${source} holds no PEM block`);
  return contents;
}

/** `pemText` of an optional option. */
export const optionalPem = (source: PemSource | undefined, option: string): string | undefined =>
  source === undefined ? undefined : pemText(source, option);
