/**
 * The command line's streaming commands: `call … --stream` prints a streamed result's items and
 * `events <url> [name…]` prints a server's events, both as JSON lines (one compact JSON document
 * per line, for `jq` and friends) until the stream ends or SIGINT/SIGTERM stops them cleanly.
 */
import { IpcError, type RpcClient } from '@openclaw-ipc/core';
import { toJsonText } from './format.js';

export interface StreamIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Resolves when the command should stop (SIGINT/SIGTERM). */
  stop: Promise<void>;
}

/**
 * Prints each item of `method`'s streamed result as a JSON line. Resolves 0 at the stream's end
 * or when stopped; rejects with the stream's error (REMOTE, CLOSED, TIMEOUT, UNSUPPORTED).
 */
export async function printStream(
  client: RpcClient,
  method: string,
  params: unknown,
  timeout: number,
  io: StreamIo,
): Promise<number> {
  const stop = new AbortController();
  void io.stop.then(() => stop.abort());
  try {
    for await (const item of client.stream(method, params, { timeout, signal: stop.signal })) {
      io.stdout.write(`${toJsonText(item, false)}\n`);
    }
  } catch (err) {
    if (stop.signal.aborted && IpcError.is(err, 'ABORTED')) return 0;
    throw err;
  }
  return 0;
}

/**
 * Prints events as JSON lines `{"event": name, "data": …}` until stopped: every event, or those
 * named (each also subscribed to, so that topics the server publishes arrive too). Rejects with
 * the link's error if the connection is lost.
 */
export async function printEvents(client: RpcClient, names: string[], io: StreamIo): Promise<number> {
  const print = (data: unknown, event: string) => {
    io.stdout.write(`${toJsonText({ event, data }, false)}\n`);
  };
  // Watched before anything is awaited: a link lost while subscribing must still end the command
  // (with nothing else pending, Node would otherwise exit 0 on an empty event loop).
  const lost = new Promise<IpcError>((resolve) => {
    if (client.state === 'closed') resolve(new IpcError('CLOSED', 'connection closed'));
    client.onState((state, error) => {
      if (state === 'closed') resolve(error ?? new IpcError('CLOSED', 'connection closed'));
    });
  });
  // Keeps the process alive until stopped or lost, whatever the link's handles do.
  const keepAlive = setInterval(() => {}, 1 << 30);
  if (names.length === 0) client.on('*', print);
  for (const name of names) {
    client.on(name, print);
    // Emitted events arrive without it; a peer without subscriptions (forge, the gateway) says no.
    await client.subscribe(name).catch((err: unknown) => {
      io.stderr.write(
        `note: could not subscribe to ${name} (${IpcError.from(err).message}); listening anyway\n`,
      );
    });
  }
  try {
    const outcome = await Promise.race([io.stop.then(() => undefined), lost]);
    if (outcome) throw outcome;
    return 0;
  } finally {
    clearInterval(keepAlive);
  }
}
