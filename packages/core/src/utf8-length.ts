/**
 * The UTF-8 length of a string without encoding it: Node's native `Buffer.byteLength` where
 * there is a Buffer, a count over the UTF-16 units elsewhere (browsers, Deno, Bun's platform
 * build). Not exported from the package.
 */

/** The UTF-8 length of `text` counted in JavaScript (a lone surrogate counts 3, as U+FFFD). */
export function countUtf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: two units, four bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

const nodeBuffer = (globalThis as { Buffer?: { byteLength(text: string, encoding: 'utf8'): number } }).Buffer;

/** The UTF-8 length of `text` in bytes. */
export const utf8ByteLength: (text: string) => number = nodeBuffer
  ? (text) => nodeBuffer.byteLength(text, 'utf8')
  : countUtf8Bytes;
