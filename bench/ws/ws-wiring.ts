/**
 * vscode-jsonrpc over a `ws` WebSocket: the message reader and writer its docs ask for when the
 * transport is not a stream (one JSON-RPC message per text frame, no Content-Length header).
 */
import {
  AbstractMessageReader,
  AbstractMessageWriter,
  type DataCallback,
  type Disposable,
  type Message,
} from 'vscode-jsonrpc';
import type { WebSocket } from 'ws';

export class WsMessageReader extends AbstractMessageReader {
  constructor(private readonly ws: WebSocket) {
    super();
    ws.on('close', () => this.fireClose());
    ws.on('error', (err) => this.fireError(err));
  }
  listen(callback: DataCallback): Disposable {
    const onMessage = (data: Buffer) => callback(JSON.parse(data.toString()) as Message);
    this.ws.on('message', onMessage);
    return { dispose: () => this.ws.off('message', onMessage) };
  }
}

export class WsMessageWriter extends AbstractMessageWriter {
  constructor(private readonly ws: WebSocket) {
    super();
  }
  write(msg: Message): Promise<void> {
    this.ws.send(JSON.stringify(msg));
    return Promise.resolve();
  }
  end(): void {}
}
