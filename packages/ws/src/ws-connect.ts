/**
 * Dials one WebSocket link (the client side). Rejects with CONNECT (nobody there, refused),
 * AUTH (HTTP 401/403 at the upgrade; over wss, a certificate that does not verify, a host name it
 * does not cover, or a server that wants a client certificate this client lacks), TIMEOUT or
 * ABORTED. wss never falls back to plain ws.
 */
import type { Socket } from 'node:net';
import { DEFAULT_LIMITS, IpcError, optionalPem, type PemSource } from '@openclaw-ipc/core';
import { type ClientOptions, type PerMessageDeflateOptions, WebSocket } from 'ws';
import { tokenProtocol } from './auth.js';
import { acceptedSize, COALESCE_HEADER } from './coalesce.js';
import { DEFAULT_HEARTBEAT_INTERVAL, Heartbeat } from './heartbeat.js';
import { WsLink, type WsLinkOptions } from './ws-link.js';

/** Options of a WebSocket dial (and of `connect('ws://…')` besides the client's). */
export interface WsConnectOptions extends WsLinkOptions {
  /** Milliseconds to wait for the upgrade. Default 10 000. */
  connectTimeout?: number;
  /** Token sent at the upgrade (see `tokenIn`). */
  token?: string;
  /** Where the token goes: the Authorization header (default) or a `bearer.` subprotocol. */
  tokenIn?: 'header' | 'protocol';
  /** Subprotocols to offer. */
  protocols?: string[];
  /** Extra HTTP headers of the upgrade request. */
  headers?: Record<string, string>;
  /** Ping interval in ms; no pong within an interval closes the link (and the client reconnects). 0: off. Default 30 000. */
  heartbeatInterval?: number;
  /** permessage-deflate: off by default. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** wss: the CAs the server's certificate must chain to (PEM text or a file). Default: Node's list. */
  ca?: PemSource;
  /** wss: this client's certificate chain, for servers that ask for one (PEM text or a file). */
  cert?: PemSource;
  /** wss: the private key of `cert` (PEM text or a file). */
  key?: PemSource;
  /** wss: the passphrase of an encrypted `key`. */
  passphrase?: string;
  /** wss: the name the server's certificate must cover. Default: the URL's host. */
  servername?: string;
  /** wss: refuse a server whose certificate does not verify. Default true; false is for tests only. */
  rejectUnauthorized?: boolean;
}

/**
 * Whether a dial error is TLS refusing a certificate (AUTH) rather than the network or a protocol
 * mismatch (CONNECT): Node's X509 verify codes, its host name check, and the peer's TLS alerts
 * about certificates (a server that requires one the client lacks, or does not trust it).
 */
export function isTlsRefusal(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return (
    /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID)/.test(
      code,
    ) || /^ERR_SSL_.*(CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED)/.test(code)
  );
}

/** Opens one WebSocket to `url` and resolves with its link once open. */
export function connectWs(
  url: string | URL,
  options: WsConnectOptions = {},
  signal?: AbortSignal,
): Promise<WsLink> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new IpcError('ABORTED', 'connect aborted'));
    const headers: Record<string, string> = { ...options.headers };
    const protocols = [...(options.protocols ?? [])];
    if (options.token !== undefined) {
      if (options.tokenIn === 'protocol') {
        // A server picks one protocol, never the token's: offer a plain one beside it.
        if (protocols.length === 0) protocols.push('openclaw-ipc');
        protocols.push(tokenProtocol(options.token));
      } else headers.authorization = `Bearer ${options.token}`;
    }
    const maxMessageSize = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    // The offer to coalesce (coalesce.ts): the largest message this end takes.
    if (options.coalesce !== false) headers[COALESCE_HEADER] = String(maxMessageSize);
    const timeout = options.connectTimeout ?? DEFAULT_LIMITS.connectTimeout;
    const href = String(url);
    let ws: WebSocket;
    try {
      // ws hands `servername` to tls.connect like the other TLS options (its types omit it).
      const clientOptions: ClientOptions & { servername?: string } = {
        headers,
        maxPayload: maxMessageSize,
        perMessageDeflate: options.perMessageDeflate ?? false,
        handshakeTimeout: timeout,
        ca: optionalPem(options.ca, 'ca'),
        cert: optionalPem(options.cert, 'cert'),
        key: optionalPem(options.key, 'key'),
        passphrase: options.passphrase,
        servername: options.servername,
        rejectUnauthorized: options.rejectUnauthorized ?? true,
      };
      ws = new WebSocket(href, protocols, clientOptions);
    } catch (err) {
      // A TLS option Node cannot use (a key that does not match, a wrong passphrase).
      return reject(IpcError.from(err, 'INVALID_ARGUMENT'));
    }
    // The socket under the WebSocket, from the upgrade's response (public: http's
    // IncomingMessage.socket), for the link to write its own frames on.
    let upgraded: Socket | undefined;
    let coalesceWith: number | undefined;
    ws.once('upgrade', (res) => {
      upgraded = res.socket;
      if (options.coalesce !== false) coalesceWith = acceptedSize(res.headers[COALESCE_HEADER]);
    });
    let settled = false;
    const fail = (err: IpcError) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(err);
    };
    const onAbort = () => fail(new IpcError('ABORTED', 'connect aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      const code = status === 401 || status === 403 ? 'AUTH' : 'CONNECT';
      fail(new IpcError(code, `upgrade to ${href} refused: HTTP ${status}`, { details: { status } }));
    });
    ws.once('error', (err: NodeJS.ErrnoException) => {
      const timedOut = /timed out/i.test(err.message);
      const tls = !timedOut && href.startsWith('wss:') && isTlsRefusal(err);
      const reason = tls ? `${err.code ? `${err.code}: ` : ''}${err.message}` : (err.code ?? err.message);
      fail(
        new IpcError(
          timedOut ? 'TIMEOUT' : tls ? 'AUTH' : 'CONNECT',
          `cannot connect to ${href}: ${reason}`,
          {
            cause: err,
            details: err.code ? { code: err.code } : undefined,
          },
        ),
      );
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      ws.removeAllListeners('error');
      const link = new WsLink(ws, options, {
        remoteAddress: href,
        socket: upgraded,
        side: 'client',
        coalesceWith,
      });
      const interval = options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL;
      if (interval > 0) {
        const heartbeat = new Heartbeat(() => [link], interval);
        ws.once('close', () => heartbeat.stop());
      }
      resolve(link);
    });
  });
}
