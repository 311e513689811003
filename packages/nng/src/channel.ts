/**
 * The nng sockets as the RPC engine's transport shapes: REQ as a RequestChannel, REP as a
 * ReplyListener, and PAIR1/BUS as a duplex Link.
 */
import {
  type ChannelRequestOptions,
  closedError,
  DEFAULT_LIMITS,
  type Frame,
  IpcError,
  type Link,
  type LinkHandler,
  type ReplyListener,
  type RequestChannel,
  type Responder,
} from '@openclaw-ipc/core';
import { pickSocketOptions, type SocketOptions } from './options.js';
import { RepSocket, type ReqOptions, ReqSocket } from './protocols.js';
import type { NngSocket, SocketDialOptions, SocketListenOptions } from './socket.js';

/** Options of a REQ channel (and of `connect('nng+…')` besides the client's). */
export interface RequestChannelOptions extends ReqOptions, Pick<SocketDialOptions, 'tls'> {
  /** Milliseconds to wait for the connection. Default 10 000. */
  connectTimeout?: number;
  /**
   * Close the channel when its connection drops (default true), so that the RPC client
   * reconnects under its policy and observes the state change. With false the socket stays
   * open and nng redials in the background.
   */
  closeOnDisconnect?: boolean;
}

/**
 * A REQ socket connected to one address, as a RequestChannel. Many requests are in flight at
 * once (one nng context each).
 */
export class NngRequestChannel implements RequestChannel {
  readonly transport = 'nng';
  private readonly closeCallbacks = new Set<(error?: IpcError) => void>();
  private closedByUser = false;

  private constructor(
    readonly socket: ReqSocket,
    readonly address: string,
  ) {}

  /**
   * Dials `address` and waits for the connection. Rejects CONNECT (nobody there), TIMEOUT,
   * ABORTED, UNAVAILABLE, INVALID_ARGUMENT.
   */
  static async connect(
    address: string,
    options: RequestChannelOptions = {},
    signal?: AbortSignal,
    /** Replies as strings when valid UTF-8 (a text dialect decodes either; see receiveText). */
    text = false,
  ): Promise<NngRequestChannel> {
    const { tls, connectTimeout, closeOnDisconnect, resendTime, failOnDisconnect } = options;
    const socket = new ReqSocket({ ...pickSocketOptions(options), resendTime, failOnDisconnect });
    if (text) socket.receiveText(true);
    try {
      const timeout = connectTimeout ?? DEFAULT_LIMITS.connectTimeout;
      await socket.dial(address, { block: true, tls, timeout, signal });
    } catch (err) {
      socket.close();
      throw err;
    }
    const channel = new NngRequestChannel(socket, address);
    if (closeOnDisconnect ?? true) {
      socket.onPipe((ev) => {
        if (ev.type === 'remove' && socket.pipes === 0) {
          channel.lost(new IpcError('CLOSED', `connection to ${address} lost`));
        }
      });
    }
    return channel;
  }

  request(frame: Frame, options: ChannelRequestOptions = {}): Promise<Frame> {
    return this.socket.request(frame, { timeout: options.timeout || -1, signal: options.signal });
  }

  onClose(callback: (error?: IpcError) => void): void {
    this.closeCallbacks.add(callback);
  }

  close(): void {
    this.closedByUser = true;
    this.socket.close();
  }

  private lost(error: IpcError): void {
    if (this.socket.closed) return;
    this.socket.close();
    if (this.closedByUser) return;
    for (const cb of [...this.closeCallbacks]) cb(error);
  }
}

/** Listeners stay referenced while open, like a net.Server: a server is not collected. */
const openListeners = new Set<NngReplyListener>();

/** Options of a REP listener (and of `listen('nng+…')` besides the server's). */
export interface ReplyListenerOptions extends SocketOptions, SocketListenOptions {
  /** Requests served at once, one nng context each; more wait in nng. Default 256. */
  maxConcurrent?: number;
}

/** A REP socket listening on one address, as a ReplyListener. */
export class NngReplyListener implements ReplyListener {
  private handler: ((frame: Frame, reply: Responder) => void) | undefined;
  private started = false;

  private constructor(
    readonly socket: RepSocket,
    readonly address: string,
    private readonly concurrency: number,
  ) {}

  /**
   * Binds `address`. `address` of the listener is where it really listens (the bound port for
   * port 0), prefixed with `publicPrefix` (the factory passes 'nng+').
   * Rejects CONNECT (address in use), INVALID_ARGUMENT, UNAVAILABLE.
   */
  static async listen(
    address: string,
    options: ReplyListenerOptions = {},
    publicPrefix = '',
    /** Requests as strings when valid UTF-8 (a text dialect decodes either; see receiveText). */
    text = false,
  ): Promise<NngReplyListener> {
    const { tls, maxConcurrent, socketMode, sharedFolder, allowedOrigins } = options;
    const socket = new RepSocket(pickSocketOptions(options));
    if (text) socket.receiveText(true);
    let bound: string;
    try {
      bound = socket.listen(address, { tls, socketMode, sharedFolder, allowedOrigins }).url;
    } catch (err) {
      socket.close();
      throw err;
    }
    const contexts = maxConcurrent ?? DEFAULT_LIMITS.maxConcurrent;
    const listener = new NngReplyListener(socket, publicPrefix + bound, contexts);
    openListeners.add(listener);
    return listener;
  }

  onRequest(handler: (frame: Frame, reply: Responder) => void): void {
    this.handler = handler;
    if (this.started) return;
    this.started = true;
    // One closure per request (the engine calls it once), not serve()'s Replier of two.
    const socket = this.socket;
    socket.serveTokens(
      (token, data) => {
        let done = false; // a second call must not answer the context's next request
        this.handler!(data, (frame) => {
          if (done) return;
          done = true;
          socket.replyTo(token, frame);
        });
      },
      { concurrency: this.concurrency },
    );
  }

  async close(): Promise<void> {
    openListeners.delete(this);
    this.socket.close();
  }
}

/**
 * A duplex Link over a PAIR1 (or PAIR0/BUS) socket: frames both ways, one peer. The link
 * closes when the socket's last pipe goes away or on close().
 */
export class NngLink implements Link {
  readonly transport = 'nng';
  private handler: LinkHandler | undefined;
  private held: Frame[] = [];
  private ended = false;

  constructor(
    readonly socket: NngSocket,
    readonly remoteAddress?: string,
  ) {
    socket.onPipe((ev) => {
      if (ev.type === 'remove' && socket.pipes === 0) this.close(new IpcError('CLOSED', 'peer went away'));
    });
    void this.pump();
  }

  attach(handler: LinkHandler): void {
    this.handler = handler;
    for (const frame of this.held.splice(0)) handler.onFrame(frame);
    if (this.ended) handler.onClose(this.closeError);
  }

  send(frame: Frame): Promise<void> {
    if (this.ended) throw closedError('nng link');
    return this.socket.send(frame);
  }

  close(error?: IpcError): void {
    if (this.ended) return;
    this.ended = true;
    this.closeError = error;
    this.socket.close();
    this.handler?.onClose(error);
  }

  private closeError: IpcError | undefined;

  private async pump(): Promise<void> {
    try {
      for await (const frame of this.socket) {
        if (this.handler) this.handler.onFrame(frame);
        else this.held.push(frame);
      }
      this.close();
    } catch (err) {
      this.close(IpcError.from(err, 'CLOSED'));
    }
  }
}
