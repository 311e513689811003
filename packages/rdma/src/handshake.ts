/**
 * The control connection's handshake: each side sends one HELLO (protocol version, provider,
 * pid, the provider endpoint's handshake); the client first, the server once it has connected
 * its provider to the client. On a Unix control socket the peer's pid is taken from
 * SO_PEERCRED and must equal the pid its HELLO claims.
 */
import { type Frame, IpcError, type Link } from '@openclaw-ipc/core';
import { SocketLink } from '@openclaw-ipc/unix';
import { CONTROL_VERSION, decodeControl, encodeHello, type Hello } from './control.js';
import { crc32cCopy, type PeerCredentials, peerCredentials, receiveBuffer } from './native-bridge.js';
import type { ProviderEndpoint } from './providers/provider.js';
import { type Crc32c, RdmaLink, type RdmaLinkOptions } from './rdma-link.js';

export interface HandshakeOptions extends RdmaLinkOptions {
  /** Milliseconds for the HELLOs to be exchanged and the provider connected. Default 10 000. */
  handshakeTimeout?: number;
}

/**
 * SO_PEERCRED of a control link over a Unix socket (SocketLink.peerCredentials, read with the
 * addon). Throws UNAVAILABLE when the link is not a SocketLink or its descriptor cannot be found:
 * the pid check must not be skipped silently.
 */
export function controlPeerCredentials(link: Link): PeerCredentials {
  const credentials = link instanceof SocketLink ? link.peerCredentials(peerCredentials) : undefined;
  if (credentials === undefined)
    throw new IpcError('UNAVAILABLE', 'rdma: cannot get the control socket descriptor for SO_PEERCRED');
  return credentials;
}

/**
 * Runs the handshake on a fresh control link (not yet attached) and resolves with the RdmaLink.
 * Rejects with PROTOCOL (bad or mismatched HELLO), TIMEOUT, CLOSED, or the provider's error;
 * the control link is closed then.
 */
export function handshake(
  control: Link,
  endpoint: ProviderEndpoint,
  role: 'client' | 'server',
  crc32c: Crc32c,
  credentials: PeerCredentials | undefined,
  options: HandshakeOptions = {},
): Promise<RdmaLink> {
  return new Promise((resolve, reject) => {
    let link: RdmaLink | undefined;
    let hello: Hello | undefined;
    let settled = false;
    const early: Frame[] = [];
    const timeoutMs = options.handshakeTimeout ?? 10_000;
    const timer = setTimeout(
      () => fail(new IpcError('TIMEOUT', `rdma handshake timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const fail = (error: IpcError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      control.close(error);
      reject(error);
    };
    const mine = () =>
      encodeHello({
        v: CONTROL_VERSION,
        provider: endpoint.provider,
        pid: process.pid,
        handshake: endpoint.handshake(),
      });
    const onHello = (frame: Frame) => {
      if (typeof frame === 'string') throw new IpcError('PROTOCOL', 'rdma control: text frame');
      const c = decodeControl(frame, 0);
      if (c.kind !== 'hello') throw new IpcError('PROTOCOL', `rdma control: ${c.kind} before HELLO`);
      if (c.v !== CONTROL_VERSION)
        throw new IpcError(
          'PROTOCOL',
          `rdma control: peer speaks version ${c.v}, we speak ${CONTROL_VERSION}`,
        );
      if (c.provider !== endpoint.provider)
        throw new IpcError(
          'PROTOCOL',
          `rdma: the peer uses provider ${c.provider}, this side ${endpoint.provider}`,
          { details: { peer: c.provider, local: endpoint.provider } },
        );
      if (credentials && credentials.pid !== c.pid)
        throw new IpcError(
          'AUTH',
          `rdma: HELLO claims pid ${c.pid}, the socket's peer is pid ${credentials.pid}`,
        );
      hello = c;
      const peerContext = {
        handshake: c.handshake,
        role,
        pid: credentials?.pid ?? c.pid,
        ...(credentials ? { uid: credentials.uid } : {}),
        ...(control.remoteAddress ? { host: control.remoteAddress } : {}),
      };
      endpoint.connect(peerContext).then(
        (peer) => {
          if (settled) {
            peer.close();
            return;
          }
          try {
            if (role === 'server') void control.send(mine());
          } catch (err) {
            peer.close();
            fail(IpcError.from(err, 'CLOSED'));
            return;
          }
          link = new RdmaLink(control, endpoint, peer, crc32c, options, { receiveBuffer, crc32cCopy });
          settled = true;
          clearTimeout(timer);
          for (const f of early.splice(0)) link.onControlFrame(f);
          resolve(link);
        },
        (err: unknown) => fail(IpcError.from(err, 'UNAVAILABLE')),
      );
    };
    control.attach({
      onFrame(frame) {
        if (link) return link.onControlFrame(frame);
        if (settled) return;
        if (hello) {
          if (early.length >= 1024)
            fail(new IpcError('CAPACITY', 'rdma: too many frames during the handshake'));
          else early.push(frame);
          return;
        }
        try {
          onHello(frame);
        } catch (err) {
          fail(IpcError.from(err));
        }
      },
      onClose(error) {
        if (link) link.onControlClose(error);
        else fail(error ?? new IpcError('CLOSED', 'rdma: control connection closed during the handshake'));
      },
    });
    if (role === 'client') {
      try {
        void control.send(mine());
      } catch (err) {
        fail(IpcError.from(err, 'CLOSED'));
      }
    }
  });
}
