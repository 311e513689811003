/**
 * One class per protocol of nng 1.5. Each is an NngSocket (listen, dial, options, pipe events,
 * close) plus the operations its protocol allows.
 */
import { IpcError } from '@openclaw-ipc/core';
import { fromNative, NNG_ECONNRESET, NNG_ECONNSHUT } from './errors.js';
import { OPT_BYTES, OPT_MS } from './native.js';
import { type SocketOptions, toDuration } from './options.js';
import { isTimeout, NngSocket, type OperationOptions, type Payload, toTimeout } from './socket.js';

export interface ReqOptions extends SocketOptions {
  /**
   * Milliseconds after which nng sends a request again when no reply came. Off by default:
   * a resent request runs the server's handler a second time, which is only safe for
   * idempotent methods. Opt in with a finite value.
   */
  resendTime?: number;
  /**
   * When resend is off, reject the requests that went out on a connection with CLOSED as soon
   * as it drops (nng 1.5 would otherwise send them again on the next connection); requests
   * still waiting for a connection go out once on the next one. Default true.
   */
  failOnDisconnect?: boolean;
}

/** REQ: many requests in flight on one socket, each on its own nng context. */
export class ReqSocket extends NngSocket {
  constructor(options: ReqOptions = {}) {
    const { resendTime, failOnDisconnect, ...rest } = options;
    super('req0', rest);
    const failFast = (failOnDisconnect ?? true) && resendTime === undefined;
    // Resend off: -1 (never) makes nng 1.5 arm no resend timer per request, and fail the
    // requests that went out on a connection when it drops (ECONNRESET); requests still
    // waiting for a connection go out once on the next one. Without failOnDisconnect, the
    // largest finite time keeps nng's resend after a reconnect but not on a timer.
    const resend = resendTime !== undefined ? toDuration(resendTime) : failFast ? -1 : 0x7fffffff;
    this.setRaw('req:resend-time', OPT_MS, resend);
  }

  /**
   * Sends `data` as one request and resolves with its reply. Many calls may be in flight.
   * Rejects TIMEOUT, ABORTED, CLOSED (socket closed, or the connection dropped), MESSAGE_TOO_LARGE.
   */
  request(data: Payload, options: OperationOptions = {}): Promise<Buffer> {
    if (this.closed) return Promise.reject(new IpcError('CLOSED', 'nng socket closed'));
    const over = this.checkSize(data);
    if (over) return Promise.reject(over);
    let token: number;
    try {
      token = this.native.request(data, toTimeout(options.timeout));
    } catch (err) {
      return Promise.reject(fromNative(err, 'request'));
    }
    return this.track(token, 'request', { signal: options.signal }) as Promise<Buffer>;
  }

  protected override mapError(errno: number, what: string): IpcError {
    if ((errno === NNG_ECONNSHUT || errno === NNG_ECONNRESET) && what === 'request') {
      return new IpcError(
        'CLOSED',
        'connection lost before the reply; the request was not resent (resend is opt-in). ' +
          "nng also drops a connection that carries a message over the receiver's maxMessageSize",
        { details: { errno, nng: errno === NNG_ECONNSHUT ? 'ECONNSHUT' : 'ECONNRESET' } },
      );
    }
    return super.mapError(errno, what);
  }
}

/** Answers the request it was given. Calling it again is a no-op. */
export interface Replier {
  (data: Payload): void;
  /** Drops the request without an answer (the requester times out or resends). */
  drop(): void;
}

export interface ServeOptions {
  /** Requests handled at once (one nng context each). Default 64. */
  concurrency?: number;
}

/** REP and RESPONDENT: each serving context receives, hands the request over, then replies. */
abstract class ServingSocket extends NngSocket {
  private handler: ((data: Buffer, reply: Replier) => void) | undefined;
  /** serveTokens()'s handler: no Replier made per request. */
  private tokenHandler: ((token: number, data: Buffer) => void) | undefined;

  /**
   * Serves requests with `handler`, `concurrency` at once; each must be answered (or dropped).
   * More requests wait in nng. @throws IpcError CLOSED, INVALID_ARGUMENT (already serving)
   */
  serve(handler: (data: Buffer, reply: Replier) => void, options: ServeOptions = {}): this {
    this.assertOpen();
    if (this.handler) throw new IpcError('INVALID_ARGUMENT', 'this socket is already serving');
    const concurrency = options.concurrency ?? 64;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new IpcError('INVALID_ARGUMENT', `concurrency must be a positive integer, got ${concurrency}`);
    }
    this.handler = handler;
    try {
      this.native.serve(concurrency);
    } catch (err) {
      throw fromNative(err, 'serve');
    }
    return this;
  }

  /**
   * @internal The RPC listener's path (channel.ts): like serve(), but the handler gets the
   * serving context's token and answers with replyTo(token, data) exactly once, so that no
   * Replier (two closures) is made per request.
   */
  serveTokens(handler: (token: number, data: Buffer) => void, options: ServeOptions = {}): this {
    this.serve(() => {}, options);
    this.tokenHandler = handler;
    return this;
  }

  /** @internal Answers the request held by serving context `token` (see serveTokens). */
  replyTo(token: number, data: Payload): void {
    if (this.closed) return;
    try {
      this.native.reply(token, data);
    } catch {
      // Only a non-bytes argument can fail here; the context goes back to receiving.
      this.native.drop(token);
    }
  }

  protected override onRequest(token: number, data: Buffer): void {
    if (this.tokenHandler) {
      this.tokenHandler(token, data);
      return;
    }
    let done = false;
    const reply = ((out: Payload) => {
      if (done || this.closed) return;
      done = true;
      try {
        this.native.reply(token, out);
      } catch {
        // Only a non-bytes argument can fail here; the context goes back to receiving.
        this.native.drop(token);
      }
    }) as Replier;
    reply.drop = () => {
      if (done || this.closed) return;
      done = true;
      this.native.drop(token);
    };
    this.handler!(data, reply);
  }

  protected override onClosed(): void {
    this.handler = undefined;
    this.tokenHandler = undefined;
  }
}

/** REP: serves REQ peers; one nng context per request handled at once. */
export class RepSocket extends ServingSocket {
  constructor(options: SocketOptions = {}) {
    super('rep0', options);
  }
}

/** RESPONDENT: answers SURVEYOR surveys. */
export class RespondentSocket extends ServingSocket {
  constructor(options: SocketOptions = {}) {
    super('respondent0', options);
  }
}

/** PUB: sends to every subscriber whose topic prefixes the message. */
export class PubSocket extends NngSocket {
  constructor(options: SocketOptions = {}) {
    super('pub0', options);
  }
}

/** SUB: receives the messages whose start matches a subscribed topic. */
export class SubSocket extends NngSocket {
  constructor(options: SocketOptions = {}) {
    super('sub0', options);
  }

  /** Receives messages starting with `topic` ('' for everything). */
  subscribe(topic: Payload = ''): this {
    this.setRaw('sub:subscribe', OPT_BYTES, topic);
    return this;
  }

  /** Stops receiving `topic`. @throws IpcError INVALID_ARGUMENT when not subscribed */
  unsubscribe(topic: Payload = ''): this {
    this.setRaw('sub:unsubscribe', OPT_BYTES, topic);
    return this;
  }
}

/** PUSH: sends each message to one PULL peer, round robin. */
export class PushSocket extends NngSocket {
  constructor(options: SocketOptions = {}) {
    super('push0', options);
  }
}

/** PULL: receives from every PUSH peer. */
export class PullSocket extends NngSocket {
  constructor(options: SocketOptions = {}) {
    super('pull0', options);
  }
}

/** PAIR v0: one peer, both directions. */
export class Pair0Socket extends NngSocket {
  constructor(options: SocketOptions = {}) {
    super('pair0', options);
  }
}

/** PAIR v1: one peer, both directions (with a hop count in the header). */
export class Pair1Socket extends NngSocket {
  constructor(options: SocketOptions = {}) {
    super('pair1', options);
  }
}

/** BUS: every message goes to every directly connected peer. */
export class BusSocket extends NngSocket {
  constructor(options: SocketOptions = {}) {
    super('bus0', options);
  }
}

export interface SurveyorOptions extends SocketOptions {
  /** How long a survey collects responses, in ms. nng's default is 1000. */
  surveyTime?: number;
}

/** SURVEYOR: asks every respondent and collects the answers that arrive within the survey time. */
export class SurveyorSocket extends NngSocket {
  constructor(options: SurveyorOptions = {}) {
    const { surveyTime, ...rest } = options;
    super('surveyor0', rest);
    if (surveyTime !== undefined) this.surveyTime = surveyTime;
  }

  /** Sets the survey time (ms) of the next surveys. */
  set surveyTime(ms: number) {
    this.setRaw('surveyor:survey-time', OPT_MS, toDuration(ms));
  }

  /**
   * Sends a survey and yields each response until the survey time is over. Starting a new
   * survey ends the previous one.
   */
  async *survey(data: Payload, options: { signal?: AbortSignal } = {}): AsyncGenerator<Buffer> {
    await this.send(data, options);
    for (;;) {
      try {
        yield await this.recv({ signal: options.signal });
      } catch (err) {
        if (isTimeout(err)) return;
        throw err;
      }
    }
  }
}
