/**
 * In-memory transports for the engine's tests. They are real transports, not mocks: frames are
 * handed to the peer asynchronously and in order, close and reset reach the other side the way
 * a socket's would, and a connector fails with CONNECT when nobody listens.
 */
import {
  type ChannelConnector,
  type ChannelRequestOptions,
  type Frame,
  IpcError,
  type Link,
  type LinkConnector,
  type LinkHandler,
  type LinkListener,
  type ReplyListener,
  type RequestChannel,
  type Responder,
  tooLargeError,
} from '@openclaw-ipc/core';

export interface MemoryLinkOptions {
  /** Frames over this size are refused by send() with MESSAGE_TOO_LARGE. Default: no limit. */
  maxMessageSize?: number;
}

type Delivery = { frame: Frame } | { close: IpcError | undefined };

/** One end of an in-memory duplex link. */
export class MemoryLink implements Link {
  readonly transport = 'memory';
  peer!: MemoryLink;
  /** Frames this end has sent (for assertions about what went on the wire). */
  readonly sent: Frame[] = [];
  private handler: LinkHandler | undefined;
  private readonly inbox: Delivery[] = [];
  private scheduled = false;
  private closed = false;
  private closeNotified = false;
  private closeError: IpcError | undefined;

  constructor(
    readonly remoteAddress: string,
    private readonly options: MemoryLinkOptions = {},
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  attach(handler: LinkHandler): void {
    if (this.handler) throw new IpcError('INVALID_ARGUMENT', 'link already attached');
    this.handler = handler;
    if (this.closed) this.notifyClose();
    else this.schedule();
  }

  send(frame: Frame): void {
    if (this.closed) throw new IpcError('CLOSED', 'link closed');
    const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength;
    const limit = this.options.maxMessageSize;
    if (limit !== undefined && size > limit) throw tooLargeError(size, limit, 'frame');
    this.sent.push(frame);
    this.peer.enqueue({ frame });
  }

  close(error?: IpcError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = error;
    this.inbox.length = 0;
    // The peer sees a clean close as clean, and any failure of ours as a reset (CLOSED).
    this.peer.enqueue({ close: error ? new IpcError('CLOSED', `peer reset: ${error.message}`) : undefined });
    this.notifyClose();
  }

  private enqueue(delivery: Delivery): void {
    if (this.closed) return;
    if ('close' in delivery && !this.handler) {
      // Closed by the peer before anyone attached: attach() reports it at once, as a socket would.
      this.closed = true;
      this.closeError = delivery.close;
      return;
    }
    this.inbox.push(delivery);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || !this.handler) return;
    this.scheduled = true;
    queueMicrotask(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    while (this.inbox.length > 0 && !this.closed) {
      const d = this.inbox.shift()!;
      if ('frame' in d) this.handler!.onFrame(d.frame);
      else {
        this.closed = true;
        this.closeError = d.close;
        this.notifyClose();
      }
    }
  }

  private notifyClose(): void {
    if (this.closeNotified || !this.handler) return;
    this.closeNotified = true;
    this.handler.onClose(this.closeError);
  }
}

/** Two connected in-memory link ends. */
export function memoryLinkPair(options: MemoryLinkOptions = {}): [MemoryLink, MemoryLink] {
  const a = new MemoryLink('memory:b', options);
  const b = new MemoryLink('memory:a', options);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** An in-memory listener: accepts links dialled through its network's connector. */
export class MemoryListener implements LinkListener {
  readonly links = new Set<MemoryLink>();
  private handler: ((link: Link) => void) | undefined;
  private closed = false;

  constructor(
    readonly address: string,
    private readonly network: MemoryNetwork,
  ) {}

  onLink(handler: (link: Link) => void): void {
    this.handler = handler;
  }

  /** Called by the network's connector: the server's end of a new link. */
  accept(link: MemoryLink): void {
    if (this.closed || !this.handler) {
      link.close(new IpcError('CLOSED', 'listener closed'));
      return;
    }
    this.links.add(link);
    this.handler(link);
  }

  /** Breaks every accepted link as a crash would (the clients see a reset), keeps listening. */
  dropAll(): void {
    for (const link of [...this.links]) link.close(new IpcError('CLOSED', 'dropped'));
    this.links.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.network.unlisten(this);
    for (const link of [...this.links]) link.close();
    this.links.clear();
  }
}

/** A namespace of in-memory addresses: listen on a name, dial it; CONNECT when nobody listens. */
export class MemoryNetwork {
  private readonly listeners = new Map<string, MemoryListener>();
  /** Dial attempts per address, successful or not. */
  readonly dials = new Map<string, number>();

  listen(name: string): MemoryListener {
    if (this.listeners.has(name)) throw new IpcError('UNAVAILABLE', `${name} is in use`);
    const listener = new MemoryListener(`memory://${name}`, this);
    this.listeners.set(name, listener);
    return listener;
  }

  unlisten(listener: MemoryListener): void {
    for (const [name, l] of this.listeners) if (l === listener) this.listeners.delete(name);
  }

  connector(name: string, options: MemoryLinkOptions = {}): LinkConnector {
    return async (signal) => {
      this.dials.set(name, (this.dials.get(name) ?? 0) + 1);
      await Promise.resolve();
      if (signal?.aborted) throw new IpcError('ABORTED', 'connect aborted');
      const listener = this.listeners.get(name);
      if (!listener) throw new IpcError('CONNECT', `nobody listens on memory://${name}`);
      const [client, server] = memoryLinkPair(options);
      listener.accept(server);
      return client;
    };
  }
}

/**
 * An in-memory request/reply channel and its listener: the channel correlates each reply with
 * its request itself, as nng REQ contexts do.
 */
export class MemoryReplyListener implements ReplyListener {
  readonly address = 'memory://reply';
  handler: ((frame: Frame, reply: Responder) => void) | undefined;
  closed = false;

  onRequest(handler: (frame: Frame, reply: Responder) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export class MemoryChannel implements RequestChannel {
  readonly transport = 'memory-channel';
  private readonly pending = new Set<{ reject: (e: IpcError) => void; controller: AbortController }>();
  private readonly closeCallbacks: Array<(error?: IpcError) => void> = [];
  private closed = false;
  /** Requests sent through this channel. */
  requests = 0;

  constructor(private readonly server: MemoryReplyListener) {}

  request(frame: Frame, options: ChannelRequestOptions = {}): Promise<Frame> {
    if (this.closed) return Promise.reject(new IpcError('CLOSED', 'channel closed'));
    if (this.server.closed || !this.server.handler)
      return Promise.reject(new IpcError('CLOSED', 'nobody answers'));
    this.requests++;
    const handler = this.server.handler;
    return new Promise<Frame>((resolve, reject) => {
      const controller = new AbortController();
      const entry = { reject, controller };
      let done = false;
      const finish = () => {
        done = true;
        this.pending.delete(entry);
        options.signal?.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
      };
      const fail = (error: IpcError) => {
        if (done) return;
        finish();
        controller.abort(error);
        reject(error);
      };
      const onAbort = () => fail(new IpcError('ABORTED', 'request aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      // As the RequestChannel contract says: the channel enforces the timeout it is given.
      const timer = options.timeout
        ? setTimeout(
            () => fail(new IpcError('TIMEOUT', `request timed out after ${options.timeout} ms`)),
            options.timeout,
          )
        : undefined;
      this.pending.add(entry);
      const reply = ((out: Frame) => {
        if (done) return;
        finish();
        resolve(out);
      }) as Responder;
      Object.defineProperty(reply, 'signal', { value: controller.signal });
      queueMicrotask(() => handler(frame, reply));
    });
  }

  onClose(callback: (error?: IpcError) => void): void {
    this.closeCallbacks.push(callback);
  }

  /** The channel breaks (the peer went away): pending requests reject CLOSED, onClose runs. */
  break(): void {
    if (this.closed) return;
    const error = new IpcError('CLOSED', 'channel broken');
    this.shutdown(error);
    for (const cb of this.closeCallbacks) cb(error);
  }

  close(): void {
    if (this.closed) return;
    this.shutdown(new IpcError('CLOSED', 'channel closed'));
  }

  private shutdown(error: IpcError): void {
    this.closed = true;
    for (const p of [...this.pending]) {
      p.controller.abort();
      p.reject(error);
    }
    this.pending.clear();
  }
}

/** A connector opening MemoryChannels to `server`; the channels it made are kept in `opened`. */
export function memoryChannelConnector(server: MemoryReplyListener): ChannelConnector & {
  opened: MemoryChannel[];
} {
  const opened: MemoryChannel[] = [];
  const connector = async () => {
    const channel = new MemoryChannel(server);
    opened.push(channel);
    return channel;
  };
  return Object.assign(connector, { opened });
}
