/** A one-line progress bar on stderr, redrawn in place on a terminal, every few seconds otherwise. */
export class ProgressBar {
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Shows `done` of `total` with a status text. */
  update(done: number, status: string): void {
    const now = Date.now();
    if (now - this.lastDraw < (this.tty ? 100 : 2000)) return;
    this.lastDraw = now;
    const width = 30;
    const fraction = Math.min(1, this.total > 0 ? done / this.total : 1);
    const filled = Math.round(fraction * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${status}`;
    this.stream.write(this.tty ? `\r${bar}\x1b[K` : `${bar}\n`);
  }

  /** Clears the bar (on a terminal). */
  done(): void {
    if (this.tty) this.stream.write('\r\x1b[K');
  }
}
