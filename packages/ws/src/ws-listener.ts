/**
 * Accepts WebSocket links on an HTTP server (its own, or one the caller gives). Enforces the
 * connection limit (the dialect's capacity reply, then close 1013), the message size limits
 * (`maxPreAuthMessageSize` before authentication, `maxMessageSize` after), the Origin and token checks at the upgrade
 * (HTTP 403 and 401), and the heartbeat.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer, Server as TlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import {
  DEFAULT_LIMITS,
  type Frame,
  IpcError,
  type Link,
  type LinkListener,
  type OriginPolicy,
  optionalPem,
  originPolicy,
  type PemSource,
  pemText,
} from '@openclaw-ipc/core';
import { type PerMessageDeflateOptions, type WebSocket, WebSocketServer } from 'ws';
import { TOKEN_PROTOCOL_PREFIX, tokenMatches, upgradeToken } from './auth.js';
import { acceptedSize, COALESCE_HEADER } from './coalesce.js';
import { DEFAULT_HEARTBEAT_INTERVAL, Heartbeat } from './heartbeat.js';
import { originAccepted } from './origin.js';
import { CloseCode, WsLink, type WsLinkOptions } from './ws-link.js';

/**
 * Defaults of the WebSocket server's own options; the others (maxConnections, maxMessageSize,
 * maxQueuedBytes, …) are core's DEFAULT_LIMITS.
 */
export const WS_DEFAULTS = {
  /** Largest message before authentication: 64 KiB. */
  maxPreAuthMessageSize: 64 * 1024,
  heartbeatInterval: DEFAULT_HEARTBEAT_INTERVAL,
} as const;

/** Options of a WebSocket listener. */
export interface WsListenOptions extends WsLinkOptions {
  /** Host to bind. Default '127.0.0.1'. */
  host?: string;
  /** Port; 0 (default) lets the OS choose. */
  port?: number;
  /** Only upgrades on this path are accepted (any path when unset). */
  path?: string;
  /** Serve on this HTTP(S) server instead of creating one (it is not closed by close()). */
  server?: Server;
  /**
   * wss: the server's certificate chain, PEM text or the path of a PEM file. With `key`, the
   * listener serves TLS (its address is wss://); without, plain ws://.
   */
  cert?: PemSource;
  /** wss: the private key of `cert`, PEM text or the path of a PEM file. */
  key?: PemSource;
  /** wss: the passphrase of an encrypted `key`. */
  passphrase?: string;
  /**
   * wss: the CAs that client certificates must chain to (PEM text or a file). With it, every
   * client must present a certificate they signed (mutual TLS) unless `requestCert` is false.
   */
  ca?: PemSource;
  /** wss: ask clients for a certificate and refuse those without a valid one. Default: `ca` given. */
  requestCert?: boolean;
  /** Connections served at once; more get `capacityReply` and close 1013. Default 1024. */
  maxConnections?: number;
  /** Frame sent to a connection refused for capacity (the dialect's reply). */
  capacityReply?: Frame;
  /** Largest message before the connection has authenticated (with `authToken`). Default 64 KiB. */
  maxPreAuthMessageSize?: number;
  /**
   * Browser origins allowed to connect besides the server's own (origin.ts), exactly as a
   * browser sends them ('https://app.example'), or '*' for any page. Others are refused at the
   * upgrade with HTTP 403; clients that send no Origin are not affected. Default none.
   */
  allowedOrigins?: readonly string[];
  /**
   * When set, connections must authenticate: a token at the upgrade (a wrong one is refused
   * with HTTP 401) or the `authenticate` request. The guard is installed by createWsServer.
   */
  authToken?: string;
  /** Ping interval in ms; a peer silent for a whole interval is terminated. 0: off. Default 30 000. */
  heartbeatInterval?: number;
  /** permessage-deflate: off by default (it can cost gigabytes under concurrency). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

export class WsListener implements LinkListener {
  readonly address: string;
  private handler: ((link: Link) => void) | undefined;
  private readonly links = new Set<WsLink>();
  private readonly heartbeat: Heartbeat;
  private readonly maxConnections: number;
  private closed = false;
  /** Connections refused because the server was at capacity. */
  refused = 0;
  /** Upgrades refused because of their Origin. */
  refusedOrigins = 0;
  private readonly origins: OriginPolicy;
  /** Drops a link whose WebSocket has closed (one function for all the links). */
  private readonly forget = (link: WsLink): void => {
    this.links.delete(link);
  };

  private constructor(
    private readonly http: Server,
    private readonly ownsServer: boolean,
    private readonly wss: WebSocketServer,
    private readonly options: WsListenOptions,
    address: string,
  ) {
    this.address = address;
    this.origins = originPolicy(options.allowedOrigins);
    this.maxConnections = options.maxConnections ?? DEFAULT_LIMITS.maxConnections;
    this.heartbeat = new Heartbeat(
      () => this.links,
      options.heartbeatInterval ?? WS_DEFAULTS.heartbeatInterval,
    );
  }

  /**
   * Starts listening. Rejects with UNAVAILABLE when the address cannot be bound,
   * INVALID_ARGUMENT for a malformed `allowedOrigins`.
   */
  static async listen(options: WsListenOptions = {}): Promise<WsListener> {
    originPolicy(options.allowedOrigins); // a malformed list fails before anything is bound
    // ws's own default (100 MiB) is far too large for RPC: ours is DEFAULT_LIMITS.maxMessageSize.
    const maxMessageSize = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    const wss = new WebSocketServer({
      noServer: true,
      // ws's limit is the one after authentication; each link enforces the smaller one before.
      maxPayload: maxMessageSize,
      perMessageDeflate: options.perMessageDeflate ?? false,
      clientTracking: false,
      handleProtocols: (offered) => {
        for (const p of offered) if (!p.startsWith(TOKEN_PROTOCOL_PREFIX)) return p;
        return false;
      },
    });
    if (options.coalesce !== false) {
      // The answer to a client that offers to coalesce (coalesce.ts): the largest message taken.
      const answer = `${COALESCE_HEADER}: ${maxMessageSize}`;
      wss.on('headers', (headers: string[], req: IncomingMessage) => {
        if (acceptedSize(req.headers[COALESCE_HEADER]) !== undefined) headers.push(answer);
      });
    }
    const tls = tlsServerOptions(options);
    const upgradeOnly: Parameters<typeof createServer>[1] = (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required\n');
    };
    let http: Server;
    try {
      http = options.server ?? (tls ? createTlsServer(tls, upgradeOnly) : createServer(upgradeOnly));
    } catch (err) {
      // A key that does not match, a wrong passphrase, a malformed PEM: Node's message says which.
      throw new IpcError(
        'INVALID_ARGUMENT',
        `cannot serve wss with this cert/key: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (!options.server) {
      const host = options.host ?? '127.0.0.1';
      await new Promise<void>((resolve, reject) => {
        http.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            new IpcError(
              'UNAVAILABLE',
              `cannot listen on ${host}:${options.port ?? 0}: ${err.code ?? err.message}`,
              { cause: err },
            ),
          ),
        );
        http.listen(options.port ?? 0, host, () => resolve());
      });
      http.on('error', () => {});
    }
    const addr = http.address();
    const host = typeof addr === 'object' && addr ? addr.address : (options.host ?? '127.0.0.1');
    const port = typeof addr === 'object' && addr ? addr.port : options.port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    const listener = new WsListener(
      http,
      !options.server,
      wss,
      options,
      `${http instanceof TlsServer ? 'wss' : 'ws'}://${shownHost}:${port}${options.path ?? '/'}`,
    );
    http.on('upgrade', (req, socket, head) => listener.upgrade(req, socket, head));
    return listener;
  }

  /** The port bound. */
  get port(): number {
    return Number(new URL(this.address).port);
  }

  onLink(handler: (link: Link) => void): void {
    this.handler = handler;
  }

  /** Links open now. */
  get size(): number {
    return this.links.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heartbeat.stop();
    for (const link of [...this.links]) link.close();
    this.wss.close();
    if (!this.ownsServer) return;
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A function of the module's, not a closure: one made here would share this call's context
    // and keep `req` (the request, its headers) alive as long as the connection.
    socket.on('error', ignoreError);
    if (this.closed || !this.handler) {
      refuse(socket, 503, 'Service Unavailable');
      return;
    }
    if (
      this.options.path !== undefined &&
      new URL(req.url ?? '/', 'http://x').pathname !== this.options.path
    ) {
      refuse(socket, 404, 'Not Found');
      return;
    }
    if (!originAccepted(req, this.origins)) {
      this.refusedOrigins++;
      refuse(socket, 403, 'Forbidden');
      return;
    }
    let authenticated = this.options.authToken === undefined;
    if (!authenticated) {
      const offered = upgradeToken(req);
      if (offered !== undefined) {
        if (!tokenMatches(this.options.authToken!, offered)) {
          refuse(socket, 401, 'Unauthorized');
          return;
        }
        authenticated = true;
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, authenticated));
  }

  private accept(ws: WebSocket, req: IncomingMessage, authenticated: boolean): void {
    // ws has put its own error listener on the socket: ours would stay beside it for the
    // connection's life (the socket's listeners an array instead of one function).
    req.socket.removeListener('error', ignoreError);
    if (this.closed || this.links.size >= this.maxConnections) {
      this.refused++;
      ws.on('error', () => {});
      if (this.options.capacityReply !== undefined) ws.send(this.options.capacityReply);
      ws.close(CloseCode.TRY_AGAIN_LATER, 'Server at capacity');
      return;
    }
    const link = new WsLink(ws, this.options, {
      authenticated,
      socket: req.socket,
      side: 'server',
      onSocketClose: this.forget,
      coalesceWith: this.options.coalesce === false ? undefined : acceptedSize(req.headers[COALESCE_HEADER]),
      maxPreAuthPayload: this.options.authToken
        ? Math.min(
            this.options.maxPreAuthMessageSize ?? WS_DEFAULTS.maxPreAuthMessageSize,
            this.options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize,
          )
        : undefined,
    });
    if (authenticated) link.markAuthenticated();
    this.links.add(link);
    this.handler!(link);
  }
}

function ignoreError(): void {}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * The https.Server options of a listener given `cert` and `key`, or undefined for plain ws.
 * Throws INVALID_ARGUMENT for one without the other, or TLS options beside `server`.
 */
function tlsServerOptions(options: WsListenOptions) {
  const { cert, key, ca } = options;
  const given =
    cert !== undefined || key !== undefined || ca !== undefined || options.passphrase !== undefined;
  if (!given) return undefined;
  if (options.server)
    throw new IpcError(
      'INVALID_ARGUMENT',
      "cert/key/ca/passphrase configure the listener's own server: give them to the https.Server passed as `server` instead",
    );
  if (cert === undefined || key === undefined)
    throw new IpcError('INVALID_ARGUMENT', 'wss needs both `cert` and `key`');
  const clientCa = optionalPem(ca, 'ca');
  const requestCert = options.requestCert ?? clientCa !== undefined;
  return {
    cert: pemText(cert, 'cert'),
    key: pemText(key, 'key'),
    passphrase: options.passphrase,
    ca: clientCa,
    requestCert,
    // A client without a valid certificate is refused in the handshake, before any HTTP.
    rejectUnauthorized: requestCert,
  };
}
