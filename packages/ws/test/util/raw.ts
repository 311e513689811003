/** A plain `ws` client that sends literal frames and reads the literal replies. */

import { afterEach } from 'vitest';
import { WebSocket } from 'ws';

const cleanups: Array<() => unknown> = [];
export const onCleanup = (fn: () => unknown): void => {
  cleanups.push(fn);
};
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

export interface RawClient {
  ws: WebSocket;
  send(frame: string | Buffer, binary?: boolean): void;
  /** The next text frame (rejects after `ms` or when the socket closes first). */
  next(ms?: number): Promise<string>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export function rawClient(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], {
      headers: options.headers,
      perMessageDeflate: false,
    });
    const queue: string[] = [];
    let waiter: ((v: string | undefined) => void) | undefined;
    let isClosed = false;
    ws.on('message', (data) => {
      const text = data.toString();
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w(text);
      } else queue.push(text);
    });
    const closed = new Promise<{ code: number; reason: string }>((res) =>
      ws.on('close', (code, reason) => {
        isClosed = true;
        waiter?.(undefined);
        res({ code, reason: reason.toString() });
      }),
    );
    ws.on('error', (err) => reject(err));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('open', () => {
      const client: RawClient = {
        ws,
        send: (frame, binary = false) => ws.send(frame, { binary }),
        next: (ms = 5000) => {
          if (queue.length) return Promise.resolve(queue.shift()!);
          if (isClosed) return Promise.reject(new Error('socket closed'));
          return new Promise((res, rej) => {
            const t = setTimeout(() => rej(new Error('no frame in time')), ms);
            waiter = (v) => {
              clearTimeout(t);
              if (v === undefined) rej(new Error('socket closed'));
              else res(v);
            };
          });
        },
        closed,
        close: () => ws.close(),
      };
      onCleanup(() => ws.terminate());
      resolve(client);
    });
  });
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it is true (fails after `ms`). */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(10);
  }
}
