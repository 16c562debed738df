// One-line progress bars on stderr (redrawn in place on a terminal, plain lines otherwise).

export function progressBar(fraction: number, width = 30): string {
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(clamped * 100).toFixed(0).padStart(3)}%`;
}

export class StatusLine {
  private lastPlain = 0;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** Redraws the line; off a terminal, prints at most one line every `plainEveryMs`. */
  update(text: string, plainEveryMs = 5_000): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text}`);
    } else if (Date.now() - this.lastPlain >= plainEveryMs) {
      this.lastPlain = Date.now();
      this.stream.write(`${text}\n`);
    }
  }

  done(text: string): void {
    this.stream.write(this.stream.isTTY ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }
}
