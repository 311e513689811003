/**
 * Streamed results and progress, the server's half. A request with `stream: n` (the client's
 * credit window) runs its handler as usual (params validation, guards); the handler returns an
 * AsyncIterable (or is an async generator), and each item leaves as a STREAM_ITEM_EVENT
 * `{ id, value }`. At most `n` items are sent that the client has not yet taken: the client
 * grants more with STREAM_CREDIT_EVENT `{ id, n }`, so a slow consumer stops the generator
 * instead of growing a queue. The stream ends with the request's response: success (result
 * null) after the last item, or the error the generator threw.
 *
 * A cancel (CANCEL_EVENT, the client's `break`, `return()` or abort signal), the deadline, the
 * link's loss or the server's close abort `ctx.signal`; the pump then stops asking for items and
 * calls the iterator's `return()`, so a generator's `finally` runs (once it reaches its next
 * `yield` or `await` that the signal ends). Nothing is sent after a cancel or a loss; after a
 * deadline the client, if it still waits, gets the TIMEOUT error.
 */
import { PROGRESS_EVENT, STREAM_ITEM_EVENT } from './dialect.js';
import { IpcError } from './errors.js';
import { frameOver, frameSize } from './limits.js';
import { type IpcMessage, type RequestMessage, type ResponsePayload, success } from './message.js';
import type { HandlerContext, ServerConnection } from './rpc-server.js';
import type { Frame } from './transport.js';

/** What the pump needs of the server (its private methods, bound once). */
export interface StreamHost {
  /** Runs the request's handler to its response (validation and guards included); never rejects. */
  dispatch(msg: RequestMessage, ctx: HandlerContext): IpcMessage | Promise<IpcMessage>;
  /** Counts the request against maxConcurrent and makes it cancellable, as for any request. */
  hold(conn: ServerConnection, ctx: HandlerContext): void;
  release(conn: ServerConnection, ctx: HandlerContext): void;
  /** Sends a response (replaced by its error when it cannot be encoded or is too large). */
  sendMessage(conn: ServerConnection, reply: IpcMessage): void | Promise<void>;
  errorResponse(id: string, err: unknown): IpcMessage;
  report(error: IpcError, conn?: ServerConnection): void;
  readonly maxMessageSize: number;
}

/** A running stream's credit, and the pump waiting for it. */
interface StreamState {
  credit: number;
  wake: (() => void) | undefined;
}

const running = new WeakMap<ServerConnection, Map<string, StreamState>>();

/**
 * Encodes the event `name` `{ id, value }` about request `id` (the event's own id is the
 * request's: no UUID per item) and sends it.
 * @throws IpcError SERIALIZATION, MESSAGE_TOO_LARGE (over `maxMessageSize`), CLOSED.
 */
export function sendRequestEvent(
  conn: ServerConnection,
  name: string,
  id: string,
  value: unknown,
  maxMessageSize: number,
): void | Promise<void> {
  let frame: Frame;
  try {
    frame = conn.dialect.encode({ id, payload: { type: 'event', event_type: name, data: { id, value } } });
  } catch (err) {
    throw IpcError.from(err, 'SERIALIZATION');
  }
  if (frameOver(frame, maxMessageSize)) {
    throw new IpcError(
      'MESSAGE_TOO_LARGE',
      `${name} of ${frameSize(frame)} bytes is over the limit of ${maxMessageSize} bytes`,
      { details: { size: frameSize(frame), limit: maxMessageSize } },
    );
  }
  if (conn.closed) throw new IpcError('CLOSED', 'connection closed');
  return conn.link.send(frame);
}

/** `ctx.progress(value)`: one PROGRESS_EVENT; the link's backpressure promise is not awaited. */
export function sendProgress(
  conn: ServerConnection,
  id: string,
  value: unknown,
  maxMessageSize: number,
): void {
  if (conn.closed) return;
  const sent = sendRequestEvent(conn, PROGRESS_EVENT, id, value, maxMessageSize);
  if (sent) sent.catch(() => {});
}

/** A STREAM_CREDIT_EVENT arrived: `data` is `{ id, n }` (anything else is ignored). */
export function grantCredit(conn: ServerConnection, data: unknown): void {
  const { id, n } = (data ?? {}) as { id?: unknown; n?: unknown };
  if (typeof id !== 'string' || typeof n !== 'number' || !Number.isInteger(n) || n < 1) return;
  const state = running.get(conn)?.get(id);
  if (!state) return;
  // Bounded: a client granting more than it could have taken only lets items flow sooner.
  state.credit = Math.min(state.credit + n, Number.MAX_SAFE_INTEGER);
  const wake = state.wake;
  state.wake = undefined;
  wake?.();
}

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';

/**
 * A reply whose result is an AsyncIterable answers a plain request (not `client.stream()`), or
 * one through a dialect that cannot stream: the iterable is closed (a generator's finally runs)
 * and the caller gets UNSUPPORTED rather than the iterable encoded as `{}`.
 */
export function refuseUnaskedStream(
  reply: IpcMessage,
  errorResponse: (id: string, err: unknown) => IpcMessage,
): IpcMessage {
  const p = reply.payload;
  if (p.type !== 'response' || !p.success || !isAsyncIterable(p.result)) return reply;
  const iterator = p.result[Symbol.asyncIterator]();
  void Promise.resolve(iterator.return?.()).catch(() => {});
  return errorResponse(
    reply.id,
    new IpcError(
      'UNSUPPORTED',
      'this method streams its result: call it with client.stream(), over a dialect that carries streams',
    ),
  );
}

/** Serves a request that asked for a streamed result (`msg.payload.stream` is its window). */
export function serveStream(
  host: StreamHost,
  conn: ServerConnection,
  msg: RequestMessage,
  ctx: HandlerContext & { abort(reason?: unknown): void },
): void {
  const state: StreamState = { credit: msg.payload.stream ?? 1, wake: undefined };
  let streams = running.get(conn);
  if (!streams) running.set(conn, (streams = new Map()));
  streams.set(msg.id, state);
  host.hold(conn, ctx);
  void pump(host, conn, msg, ctx, state).finally(() => {
    if (streams.get(msg.id) === state) streams.delete(msg.id);
    host.release(conn, ctx);
  });
}

async function pump(
  host: StreamHost,
  conn: ServerConnection,
  msg: RequestMessage,
  ctx: HandlerContext,
  state: StreamState,
): Promise<void> {
  const { id } = msg;
  const signal = ctx.signal;
  const onAbort = () => {
    const wake = state.wake;
    state.wake = undefined;
    wake?.();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let iterator: AsyncIterator<unknown> | undefined;
  try {
    const out = await host.dispatch(msg, ctx);
    const payload = out.payload as ResponsePayload;
    if (!payload.success) {
      if (!signal.aborted) await host.sendMessage(conn, out);
      return;
    }
    if (!isAsyncIterable(payload.result)) {
      const e = new IpcError('PROTOCOL', `${msg.payload.method} did not return an AsyncIterable to stream`);
      await host.sendMessage(conn, host.errorResponse(id, e));
      return;
    }
    iterator = payload.result[Symbol.asyncIterator]();
    for (;;) {
      while (state.credit <= 0 && !signal.aborted) await new Promise<void>((wake) => (state.wake = wake));
      if (signal.aborted) break;
      const step = await iterator.next();
      if (signal.aborted) break;
      if (step.done) {
        iterator = undefined;
        await host.sendMessage(conn, success(id, null));
        return;
      }
      state.credit--;
      const sent = sendRequestEvent(conn, STREAM_ITEM_EVENT, id, step.value, host.maxMessageSize);
      if (sent) await sent;
    }
  } catch (err) {
    // The generator threw (it is finished), or an item could not be sent.
    const error = err;
    if (!signal.aborted && !conn.closed) await host.sendMessage(conn, host.errorResponse(id, error));
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (iterator?.return) {
      try {
        await iterator.return();
      } catch (err) {
        host.report(IpcError.from(err), conn);
      }
    }
  }
  // Stopped by the signal: only a deadline is worth telling the caller about.
  if (IpcError.is(signal.reason, 'TIMEOUT') && !conn.closed)
    await host.sendMessage(conn, host.errorResponse(id, signal.reason));
}
