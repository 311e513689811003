/**
 * The frame limit of a server connection that has not authenticated yet (64 KiB by default),
 * enforced on public APIs only. ws takes one `maxPayload` when a connection is made and has no
 * public way to change it, so ws is given the limit after authentication and this one watches
 * the frame headers of the same bytes: a 'data' listener on the socket beside ws's own (both
 * receive every chunk; this one never copies or keeps them). A data message announced over the
 * limit (one frame, or fragments summed as ws sums them) is reported at its header, before ws
 * has buffered its payload; the link then closes with 1009 as ws would, and if the peer goes on
 * sending more than the limit after that, the connection is cut. Removed once authenticated.
 */
import type { Socket } from 'node:net';

/** Longest frame header: 2 bytes, an 8-byte length, a 4-byte masking key. */
const MAX_HEADER = 14;

export class PreAuthLimit {
  /** Header bytes of the frame being read, and how many of them have arrived. */
  private readonly header = Buffer.alloc(MAX_HEADER);
  private headerHave = 0;
  /** Payload bytes of the current frame still to pass. */
  private payloadLeft = 0;
  /** Payload bytes of the data message so far (its fragments), as ws counts them. */
  private messageBytes = 0;
  /** Bytes received after the limit was exceeded; undefined before. */
  private afterViolation: number | undefined;
  private readonly listener = (chunk: Buffer) => this.read(chunk);

  /**
   * @param limit the largest data message, in bytes.
   * @param onViolation called once, with the message's size so far, when a header announces more.
   * @param onFlood called once when the peer sends more than `limit` bytes after the violation.
   */
  constructor(
    private readonly socket: Socket,
    readonly limit: number,
    private readonly onViolation: (size: number) => void,
    private readonly onFlood: () => void,
  ) {
    // Before ws's listener: the header is seen before ws buffers the payload behind it.
    socket.prependListener('data', this.listener);
  }

  /** Stops watching (authenticated, or closed). */
  remove(): void {
    this.socket.removeListener('data', this.listener);
  }

  private read(chunk: Buffer): void {
    if (this.afterViolation !== undefined) {
      this.afterViolation += chunk.length;
      if (this.afterViolation > this.limit) {
        this.remove();
        this.onFlood();
      }
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - at);
        this.payloadLeft -= n;
        at += n;
        continue;
      }
      this.header[this.headerHave++] = chunk[at++]!;
      const need = this.headerSize();
      if (this.headerHave < need) continue;
      this.headerHave = 0;
      if (!this.frameAccepted()) {
        this.afterViolation = chunk.length - at;
        this.onViolation(this.messageBytes);
        return;
      }
    }
  }

  /** Bytes of the header being read (2 until its second byte is known). */
  private headerSize(): number {
    if (this.headerHave < 2) return 2;
    const b1 = this.header[1]!;
    const len7 = b1 & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
  }

  /** Takes a whole header: false when its data message goes over the limit. */
  private frameAccepted(): boolean {
    const h = this.header;
    const len7 = h[1]! & 0x7f;
    const length =
      len7 === 126
        ? h.readUInt16BE(2)
        : len7 === 127
          ? h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6)
          : len7;
    this.payloadLeft = length;
    // Control frames (opcode 8 and up) are not part of a message; ws limits them to 125 bytes.
    if ((h[0]! & 0x0f) >= 0x8) return true;
    this.messageBytes += length;
    if (this.messageBytes > this.limit) return false;
    if (h[0]! & 0x80) this.messageBytes = 0;
    return true;
  }
}
