/**
 * Frames as peers write them, and what ws's own Receiver reads from them: the reference the
 * frame reader and the links are compared with.
 */
import fc from 'fast-check';
import * as wsModule from 'ws';

/** ws's frame writer and parser (exported by ws, not declared by @types/ws). */
interface WsReceiver {
  on(event: 'message', listener: (data: Buffer, binary: boolean) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  write(chunk: Buffer, done?: () => void): boolean;
}
const { Receiver, Sender } = wsModule as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => WsReceiver;
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; mask: boolean; opcode: number; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};

export type Piece =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'ping'; data: Uint8Array }
  | { kind: 'fragments'; parts: string[] };

export const show = (data: string | Uint8Array): string =>
  typeof data === 'string' ? `text:${data}` : `binary:${Buffer.from(data).toString('base64')}`;

/** The frames of `pieces` as a client (masked) or a server (unmasked) writes them. */
export function encode(pieces: Piece[], masked: boolean): Buffer {
  const out: Buffer[] = [];
  const frame = (data: Buffer, opcode: number, fin = true) =>
    out.push(...Sender.frame(data, { fin, mask: masked, opcode, readOnly: true, rsv1: false }));
  for (const p of pieces) {
    if (p.kind === 'text') frame(Buffer.from(p.data), 1);
    else if (p.kind === 'binary') frame(Buffer.from(p.data), 2);
    else if (p.kind === 'ping') frame(Buffer.from(p.data), 9);
    else {
      const last = p.parts.length - 1;
      for (const [i, part] of p.parts.entries()) frame(Buffer.from(part), i === 0 ? 1 : 0, i === last);
    }
  }
  return Buffer.concat(out);
}

/** The messages ws's own Receiver reads from `bytes`. */
export function readWithWs(bytes: Buffer, masked: boolean, maxPayload = 0): string[] {
  const out: string[] = [];
  const receiver = new Receiver({ isServer: masked, maxPayload });
  receiver.on('message', (data, binary) => out.push(show(binary ? data : data.toString('utf8'))));
  receiver.on('error', () => out.push('error'));
  receiver.write(Buffer.from(bytes));
  return out;
}

/** Cuts `bytes` at the given points (taken modulo its length). */
export function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => (bytes.length ? a % bytes.length : 0)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) chunks.push(Buffer.from(bytes.subarray(from, p)));
    from = Math.max(from, p);
  }
  chunks.push(Buffer.from(bytes.subarray(from)));
  return chunks;
}

const textArb = fc.oneof(
  fc.string({ maxLength: 200, unit: 'binary' }),
  fc.constantFrom(
    '',
    'x'.repeat(125),
    'x'.repeat(126),
    'é'.repeat(70),
    '\ufffd',
    'a\ufffdb',
    'x'.repeat(70_000),
  ),
);
export const pieceArb: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 4, arbitrary: textArb.map((data) => ({ kind: 'text' as const, data })) },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 300 }).map((data) => ({ kind: 'binary' as const, data })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }).map((data) => ({ kind: 'ping' as const, data })) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.string({ maxLength: 30 }), { minLength: 2, maxLength: 4 })
      .map((parts) => ({ kind: 'fragments' as const, parts })),
  },
);
