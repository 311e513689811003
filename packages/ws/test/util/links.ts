/** Link pairs over real sockets, on either path (util/modes.ts). */
import type { Frame, IpcError } from '@openclaw-ipc/core';
import { WebSocket } from 'ws';
import { connectWs, type WsLink, WsListener, type WsListenOptions } from '../../src/index.js';
import { onCleanup } from './raw.js';

export interface LinkPair {
  /** The server side (reads masked frames) and the client side (reads unmasked ones). */
  server: WsLink;
  client: WsLink;
  serverGot: Frame[];
  clientGot: Frame[];
  /** Settles with the close error each side's handler got. */
  serverClosed: Promise<IpcError | undefined>;
  clientClosed: Promise<IpcError | undefined>;
}

export async function linkPair(fastPath: boolean, options: WsListenOptions = {}): Promise<LinkPair> {
  const listener = await WsListener.listen({ heartbeatInterval: 0, fastPath, ...options });
  onCleanup(() => listener.close());
  const serverGot: Frame[] = [];
  let serverClosed!: Promise<IpcError | undefined>;
  const serverLink = new Promise<WsLink>((resolve) =>
    listener.onLink((link) => {
      serverClosed = new Promise((closed) =>
        link.attach({ onFrame: (f) => serverGot.push(f), onClose: closed }),
      );
      resolve(link as WsLink);
    }),
  );
  const client = await connectWs(listener.address, { heartbeatInterval: 0, fastPath, ...options });
  onCleanup(() => client.close());
  const clientGot: Frame[] = [];
  const clientClosed = new Promise<IpcError | undefined>((closed) =>
    client.attach({ onFrame: (f) => clientGot.push(f), onClose: closed }),
  );
  const server = await serverLink;
  return { server, client, serverGot, clientGot, serverClosed, clientClosed };
}

/** A server link, and a plain ws client talking to it. */
export async function linkAndPeer(
  fastPath: boolean,
  options: WsListenOptions = {},
): Promise<{ link: WsLink; peer: WebSocket; closed: Promise<IpcError | undefined>; got: Frame[] }> {
  const listener = await WsListener.listen({ heartbeatInterval: 0, fastPath, ...options });
  onCleanup(() => listener.close());
  const got: Frame[] = [];
  let closed!: Promise<IpcError | undefined>;
  const accepted = new Promise<WsLink>((resolve) =>
    listener.onLink((link) => {
      closed = new Promise((done) => link.attach({ onFrame: (f) => got.push(f), onClose: done }));
      resolve(link as WsLink);
    }),
  );
  const peer = new WebSocket(listener.address, { perMessageDeflate: false });
  onCleanup(() => peer.terminate());
  peer.on('error', () => {});
  await new Promise((r) => peer.once('open', r));
  return { link: await accepted, peer, closed, got };
}

/** The net.Socket under a ws WebSocket (test access to ws's private field). */
export const socketUnder = (ws: WebSocket): import('node:net').Socket =>
  (ws as unknown as { _socket: import('node:net').Socket })._socket;
