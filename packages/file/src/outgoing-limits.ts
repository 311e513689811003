/** The limits both file links put on what they are asked to send. */
import { type Frame, frameSize, IpcError, tooLargeError } from '@openclaw-ipc/core';

/**
 * Checks one outgoing frame against the message-size and queued-bytes limits; returns its size.
 * @throws IpcError MESSAGE_TOO_LARGE or CAPACITY (the link stays open).
 */
export function admitOutgoing(
  frame: Frame,
  queuedBytes: number,
  maxMessageSize: number,
  maxQueuedBytes: number,
): number {
  const size = frameSize(frame);
  if (size > maxMessageSize) throw tooLargeError(size, maxMessageSize, 'message');
  if (queuedBytes + size > maxQueuedBytes) {
    throw new IpcError('CAPACITY', `${queuedBytes} bytes already queued (max ${maxQueuedBytes})`, {
      details: { queued: queuedBytes, limit: maxQueuedBytes },
    });
  }
  return size;
}
