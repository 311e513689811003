/**
 * The one place packages/unix reads a private part of Node: the file descriptor of a connected
 * socket, for SO_PEERCRED (SocketLink.peerCredentials). Node has no public accessor for a
 * socket's descriptor; net.Socket keeps it on its private `_handle` (a libuv stream handle
 * whose `fd` is a number >= 0 on Unix while it is open). Probed at each call, never at import,
 * and read only: nothing here changes the socket. Not a speed-up, so not behind
 * OPENCLAW_IPC_NO_INTERNALS: without it the peer's credentials cannot be known at all (the rdma
 * handshake then refuses with UNAVAILABLE instead of skipping its check).
 */
import type { Socket } from 'node:net';

/** The descriptor of `socket`, or undefined when this Node does not keep one where we look. */
export function socketDescriptor(socket: Socket): number | undefined {
  if (socket.destroyed) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}
