/**
 * SocketLink.peerCredentials: SO_PEERCRED needs a native reader (Node has none); the link finds
 * its socket's descriptor (internals.ts) and hands it to the reader. The rdma tests read real
 * credentials with the addon through this method (its handshake's pid check).
 */
import { fstatSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { connectUnix, type SocketLink, UnixListener } from '../src/index.js';
import { tempDir } from './helpers.js';

const dir = tempDir('oc-unix-cred-');
afterAll(() => dir.remove());

describe('peer credentials', () => {
  it("gives the peer's credentials through the caller's reader, with the socket's descriptor", async () => {
    const path = dir.path('e.sock');
    const listener = await UnixListener.listen(path);
    const accepted = new Promise<SocketLink>((resolve) => listener.onLink((l) => resolve(l as SocketLink)));
    const link = await connectUnix(path);
    const server = await accepted;
    const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
    for (const side of [link, server]) {
      const fds: number[] = [];
      const credentials = side.peerCredentials((fd) => {
        fds.push(fd);
        return me;
      });
      expect(credentials).toEqual(me);
      expect(fds).toHaveLength(1);
      expect(fstatSync(fds[0]!).isSocket()).toBe(true);
    }
    link.close();
    expect(link.peerCredentials(() => me)).toBeUndefined();
    await listener.close();
  });
});
