/** Output helpers of the command line. */
import { IpcError, RemoteError } from '@openclaw-ipc/core';

/** JSON text for a result; bytes are shown as base64 strings. */
export function toJsonText(value: unknown, pretty = true): string {
  return JSON.stringify(
    value,
    (_key, v) => {
      if (v instanceof Uint8Array)
        return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)) {
        return Buffer.from(v.data).toString('base64');
      }
      if (typeof v === 'bigint') return v.toString();
      return v;
    },
    pretty ? 2 : undefined,
  );
}

/** One line for stderr: `REMOTE(FORBIDDEN): message` or `TIMEOUT: message`. */
export function describeError(err: unknown): string {
  if (err instanceof RemoteError) {
    const code = err.remoteCode === undefined ? err.code : `${err.code}(${err.remoteCode})`;
    return `${code}: ${err.message}`;
  }
  if (err instanceof IpcError) return `${err.code}: ${err.message}`;
  return `ERROR: ${err instanceof Error ? err.message : String(err)}`;
}

/** Parses the JSON params argument; a usage error names the problem. */
export function parseParams(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new IpcError('INVALID_ARGUMENT', `params are not valid JSON: ${(err as Error).message}`);
  }
}

/** A text table with right-aligned numeric columns. */
export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '')));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const numeric = cols.map((_, i) => rows.every((r) => typeof r[cols[i]!] === 'number'));
  const line = (vals: string[]) =>
    vals.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
