/**
 * IpcTransport: the Rust crate openclaw-ipc's transport API (client and server; send, recv,
 * request) over our sockets, with what the crate lacks: many requests in flight per socket,
 * a server that answers many requests at once, typed errors, non-blocking I/O.
 */
import {
  closedError,
  DEFAULT_LIMITS,
  failure,
  IdTable,
  IpcError,
  type IpcMessage,
  openclawJson,
  type SocketAccessOptions,
  tooLargeError,
} from '@openclaw-ipc/core';
import { DEFAULT_ADDRESS } from './factory.js';
import { pickSocketOptions, type SocketOptions } from './options.js';
import { type Replier, RepSocket, ReqSocket } from './protocols.js';
import type { OperationOptions, SocketListenOptions, TlsOptions } from './socket.js';

export interface IpcTransportOptions extends SocketOptions, SocketAccessOptions {
  /** Default timeout of request() and recv(), in ms (the crate's `timeout`). Default 30 000. */
  timeout?: number;
  /** Server: requests answered at once (one nng context each). Default 256. */
  maxConcurrent?: number;
  /** Client: milliseconds to wait for the connection. Default 10 000. */
  connectTimeout?: number;
  tls?: TlsOptions;
  /** Refused on ws:// (INVALID_ARGUMENT): nng cannot check a browser's Origin (see SocketListenOptions). */
  allowedOrigins?: SocketListenOptions['allowedOrigins'];
}

interface Incoming {
  message: IpcMessage;
  reply: Replier;
}

const decode = (frame: Buffer): IpcMessage => openclawJson.decode(frame) as IpcMessage;

/** A REQ (client) or REP (server) socket speaking openclaw-ipc JSON, as the crate's IpcTransport. */
export class IpcTransport {
  /** The crate's default address for this platform. */
  static defaultAddress(): string {
    return DEFAULT_ADDRESS;
  }

  /**
   * A client (REQ) connected to `address`. Rejects CONNECT when nobody listens (as the crate's
   * new_client), TIMEOUT, UNAVAILABLE, INVALID_ARGUMENT.
   */
  static async client(
    address: string = DEFAULT_ADDRESS,
    options: IpcTransportOptions = {},
  ): Promise<IpcTransport> {
    const socket = new ReqSocket(pickSocketOptions(options));
    try {
      await socket.dial(address, {
        block: true,
        tls: options.tls,
        timeout: options.connectTimeout ?? DEFAULT_LIMITS.connectTimeout,
      });
    } catch (err) {
      socket.close();
      throw err;
    }
    return new IpcTransport('client', address, socket, options.timeout ?? DEFAULT_LIMITS.timeout);
  }

  /** A server (REP) listening on `address`. Rejects CONNECT (address in use), INVALID_ARGUMENT. */
  static async server(
    address: string = DEFAULT_ADDRESS,
    options: IpcTransportOptions = {},
  ): Promise<IpcTransport> {
    const socket = new RepSocket(pickSocketOptions(options));
    try {
      socket.listen(address, {
        tls: options.tls,
        socketMode: options.socketMode,
        sharedFolder: options.sharedFolder,
        allowedOrigins: options.allowedOrigins,
      });
    } catch (err) {
      socket.close();
      throw err;
    }
    const transport = new IpcTransport('server', address, socket, options.timeout ?? DEFAULT_LIMITS.timeout);
    socket.serve((frame, reply) => transport.onIncoming(frame, reply), {
      concurrency: options.maxConcurrent ?? DEFAULT_LIMITS.maxConcurrent,
    });
    return transport;
  }

  /** Server: requests received and not yet taken by recv(). */
  private readonly incoming: Incoming[] = [];
  private readonly takers: { resolve(m: Incoming): void; reject(e: IpcError): void }[] = [];
  /** Server: replies owed, by request id. */
  private readonly owed = new IdTable<Replier>();
  /** Client: replies of send(), in order, for recv(). */
  private readonly sent: Promise<IpcMessage>[] = [];
  private _inFlight = 0;

  private constructor(
    readonly role: 'client' | 'server',
    readonly address: string,
    private readonly socket: ReqSocket | RepSocket,
    /** Default timeout of request() and recv(), in ms. */
    readonly timeout: number,
  ) {}

  /** Client: requests awaiting their reply. */
  get inFlight(): number {
    return this._inFlight;
  }

  /** True when the underlying socket has a live connection. */
  get connected(): boolean {
    return !this.socket.closed && this.socket.pipes > 0;
  }

  /**
   * Client: sends `message` and resolves with the reply to it. Many may be in flight.
   * Rejects TIMEOUT, ABORTED, CLOSED, MESSAGE_TOO_LARGE, SERIALIZATION, PROTOCOL (the reply is
   * not a response to this request).
   */
  async request(message: IpcMessage, options: OperationOptions = {}): Promise<IpcMessage> {
    if (this.role !== 'client') throw new IpcError('INVALID_ARGUMENT', 'request() is for client transports');
    const frame = openclawJson.encode(message);
    this._inFlight++;
    try {
      const reply = decode(
        await (this.socket as ReqSocket).request(frame, {
          timeout: options.timeout ?? this.timeout,
          signal: options.signal,
        }),
      );
      if (reply.payload.type !== 'response')
        throw new IpcError('PROTOCOL', `reply is a ${reply.payload.type}`);
      if (reply.id !== message.id) {
        throw new IpcError('PROTOCOL', `reply id ${reply.id} does not match request id ${message.id}`);
      }
      return reply;
    } finally {
      this._inFlight--;
    }
  }

  /**
   * Client: sends a request whose reply the next recv() returns (replies come back in send
   * order). Server: sends `message` as the response to the received request with the same id.
   * Rejects CLOSED, MESSAGE_TOO_LARGE, INVALID_ARGUMENT (server: no request with that id).
   */
  async send(message: IpcMessage): Promise<void> {
    if (this.socket.closed) throw closedError('transport');
    if (this.role === 'client') {
      const reply = this.request(message);
      reply.catch(() => {}); // reported by recv()
      this.sent.push(reply);
      return;
    }
    const reply = this.owed.get(message.id);
    if (!reply)
      throw new IpcError('INVALID_ARGUMENT', `no request with id ${message.id} is waiting for a response`);
    const frame = openclawJson.encode(message);
    const limit = this.socket.get('maxMessageSize') ?? 0;
    if (limit > 0 && Buffer.byteLength(frame) > limit) throw tooLargeError(Buffer.byteLength(frame), limit);
    this.owed.delete(message.id);
    reply(frame);
  }

  /**
   * Server: the next request (its response goes through send()). Client: the reply to the
   * oldest send() not yet received. Rejects TIMEOUT, CLOSED, and the request's own error.
   */
  async recv(options: OperationOptions = {}): Promise<IpcMessage> {
    if (this.role === 'client') {
      const next = this.sent.shift();
      if (!next) throw new IpcError('INVALID_ARGUMENT', 'recv() on a client needs a send() first');
      return next;
    }
    const ready = this.incoming.shift();
    if (ready) return this.take(ready);
    if (this.socket.closed) throw closedError('transport');
    const timeout = options.timeout ?? this.timeout;
    return new Promise<Incoming>((resolve, reject) => {
      const taker = { resolve, reject };
      this.takers.push(taker);
      const timer =
        timeout > 0 && Number.isFinite(timeout)
          ? setTimeout(() => {
              this.takers.splice(this.takers.indexOf(taker), 1);
              reject(new IpcError('TIMEOUT', `recv timed out after ${timeout} ms`));
            }, timeout)
          : undefined;
      const done = () => clearTimeout(timer);
      taker.resolve = (m) => {
        done();
        resolve(m);
      };
      taker.reject = (e) => {
        done();
        reject(e);
      };
    }).then((m) => this.take(m));
  }

  /** Closes the socket: pending requests and receives reject CLOSED. */
  close(): void {
    this.socket.close();
    for (const t of this.takers.splice(0)) t.reject(closedError('transport'));
    this.owed.clear();
  }

  /** Observes the loss of the last connection (client: nng redials in the background). */
  onDisconnect(listener: () => void): () => void {
    return this.socket.onPipe((e) => {
      if (e.type === 'remove' && this.socket.pipes === 0) listener();
    });
  }

  private take(incoming: Incoming): IpcMessage {
    this.owed.set(incoming.message.id, incoming.reply);
    return incoming.message;
  }

  private onIncoming(frame: Buffer, reply: Replier): void {
    let message: IpcMessage;
    try {
      message = decode(frame);
    } catch (err) {
      // A REQ peer waits for an answer whatever it sent: answer with the error, as the crate
      // would fail to; the application never sees the junk.
      reply(openclawJson.encode(failure('', IpcError.from(err).message)));
      return;
    }
    const item = { message, reply };
    const taker = this.takers.shift();
    if (taker) taker.resolve(item);
    else this.incoming.push(item);
  }
}
