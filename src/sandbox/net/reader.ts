// Pull-style reading of a socket: whole lines (with their line ending, so data can be kept
// byte-exact) or exact byte counts (IMAP literals, SMTP BDAT). Memory stays bounded: an
// over-long line is skipped rather than buffered, and the socket is paused while the session
// has a lot of unread data.
import type { Duplex } from 'node:stream';

const LF = 0x0a;
/** Pause the socket when this much is buffered and the session is not asking for more. */
const HIGH_WATER = 1024 * 1024;

export type LineResult = Buffer | 'too-long';

export class SocketReader {
  #chunks: Buffer[] = [];
  #length = 0;
  /** Bytes at the front already searched for LF without success. */
  #scanned = 0;
  /** Dropping the rest of an over-long line. */
  #skipping = false;
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #onData = (chunk: Buffer): void => this.#push(chunk);
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#signal();
  };

  constructor(private readonly socket: Duplex) {
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
  }

  get ended(): boolean {
    return this.#ended && this.#length === 0;
  }

  /** Stops reading this socket and forgets buffered data (STARTTLS: no plaintext injection). */
  detach(): void {
    this.socket.off('data', this.#onData);
    this.socket.off('end', this.#onEnd);
    this.socket.off('close', this.#onEnd);
    this.#chunks = [];
    this.#length = 0;
    this.#scanned = 0;
    this.#ended = true;
    this.#signal();
  }

  /** A buffered line (LF-terminated), 'too-long' once an over-long line has been skipped, else undefined. */
  tryLine(maxLength: number): LineResult | undefined {
    for (;;) {
      const lf = this.#findLf();
      if (this.#skipping) {
        if (lf < 0) {
          this.#take(this.#length);
          return undefined;
        }
        this.#take(lf + 1);
        this.#skipping = false;
        return 'too-long';
      }
      if (lf >= 0) {
        if (lf + 1 > maxLength) {
          this.#take(lf + 1);
          return 'too-long';
        }
        return this.#take(lf + 1);
      }
      if (this.#length <= maxLength) return undefined;
      this.#skipping = true;
    }
  }

  /** Exactly `count` buffered bytes, else undefined. */
  tryBytes(count: number): Buffer | undefined {
    return this.#length >= count ? this.#take(count) : undefined;
  }

  /** Next line; null when the peer is gone. */
  async line(maxLength: number): Promise<LineResult | null> {
    for (;;) {
      const line = this.tryLine(maxLength);
      if (line !== undefined) return line;
      if (this.#ended) return null;
      await this.#more();
    }
  }

  /** Exactly `count` bytes; null when the peer is gone first. */
  async bytes(count: number): Promise<Buffer | null> {
    for (;;) {
      const data = this.tryBytes(count);
      if (data !== undefined) return data;
      if (this.#ended) return null;
      await this.#more();
    }
  }

  #push(chunk: Buffer): void {
    if (this.#skipping && chunk.indexOf(LF) < 0) return; // still inside an over-long line
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (this.#length > HIGH_WATER && !this.#wake) this.socket.pause();
    this.#signal();
  }

  #more(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.socket.resume();
    });
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Offset of the first LF in the buffered data, or -1. */
  #findLf(): number {
    let base = 0;
    for (const chunk of this.#chunks) {
      if (base + chunk.length > this.#scanned) {
        const from = Math.max(0, this.#scanned - base);
        const at = chunk.indexOf(LF, from);
        if (at >= 0) return base + at;
      }
      base += chunk.length;
    }
    this.#scanned = this.#length;
    return -1;
  }

  #take(count: number): Buffer {
    this.#length -= count;
    this.#scanned = 0;
    const first = this.#chunks[0];
    if (first && first.length >= count) {
      // the common case: no copy
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const parts: Buffer[] = [];
    let needed = count;
    while (needed > 0) {
      const chunk = this.#chunks[0]!;
      if (chunk.length <= needed) {
        parts.push(chunk);
        this.#chunks.shift();
        needed -= chunk.length;
      } else {
        parts.push(chunk.subarray(0, needed));
        this.#chunks[0] = chunk.subarray(needed);
        needed = 0;
      }
    }
    return Buffer.concat(parts, count);
  }
}
