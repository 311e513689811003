/**
 * A file channel is shared: one undecodable message (a peer with another dialect, a bad writer)
 * must not end the link for every other message. The RPC engine closes a link whose frame
 * cannot be decoded; this wrapper reports the error and decodes such a frame as an empty batch
 * instead, which the engine skips.
 */
import { type Dialect, type Frame, IpcError, type IpcMessage } from '@openclaw-ipc/core';

/** `dialect`, with undecodable frames reported to `report` and skipped. */
export function skipUndecodable(dialect: Dialect, report: (error: IpcError) => void): Dialect {
  const wrap = (inner: Dialect): Dialect => {
    const out: Dialect = {
      name: inner.name,
      frames: inner.frames,
      cancellable: inner.cancellable,
      carries: inner.carries,
      encode: (message: IpcMessage) => inner.encode(message),
      decode(frame: Frame) {
        try {
          return inner.decode(frame);
        } catch (err) {
          try {
            report(IpcError.from(err, 'PROTOCOL'));
          } catch {
            // observers must not break delivery
          }
          return [];
        }
      },
    };
    if (inner.encodeBatch) out.encodeBatch = (messages) => inner.encodeBatch!(messages);
    if (inner.forLink) out.forLink = () => wrap(inner.forLink!());
    return out;
  };
  return wrap(dialect);
}
