/**
 * A Link whose frames go first to the handshake and then to the RPC engine: the gateway's
 * challenge and hello are read on the same WebSocket before the engine attaches, and nothing
 * that arrives between the two is lost.
 */
import { type Frame, IpcError, type Link, type LinkHandler } from '@openclaw-ipc/core';

export class RelayLink implements Link {
  readonly transport = 'ws';
  readonly remoteAddress?: string;
  private target: LinkHandler;
  private held: Frame[] = [];
  private closed: { error?: IpcError } | undefined;
  private attached = false;

  constructor(
    readonly inner: Link,
    handshake: LinkHandler,
  ) {
    if (inner.remoteAddress !== undefined) this.remoteAddress = inner.remoteAddress;
    this.target = handshake;
  }

  /** Starts delivery (frames the WebSocket already holds arrive now, synchronously). */
  start(): void {
    this.inner.attach({
      onFrame: (frame) => this.target.onFrame(frame),
      onClose: (error) => {
        this.closed = { error };
        this.target.onClose(error);
      },
    });
  }

  /** Ends the handshake phase: frames are held until the engine attaches. */
  handOver(): void {
    this.target = {
      onFrame: (frame) => {
        if (this.held.length < 1024) this.held.push(frame);
        else this.inner.close(new IpcError('CAPACITY', 'too many frames before the client attached'));
      },
      onClose: () => {},
    };
  }

  attach(handler: LinkHandler): void {
    if (this.attached) throw new IpcError('INVALID_ARGUMENT', 'link already attached');
    this.attached = true;
    const held = this.held;
    this.held = [];
    for (const frame of held) handler.onFrame(frame);
    if (this.closed) handler.onClose(this.closed.error);
    else this.target = handler;
  }

  send(frame: Frame): void | Promise<void> {
    return this.inner.send(frame);
  }

  close(error?: IpcError): void {
    this.inner.close(error);
  }
}
