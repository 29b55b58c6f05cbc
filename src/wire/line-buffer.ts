const CRLF = Buffer.from('\r\n');

/**
 * Accumulates bytes and hands out CRLF-terminated lines one at a time. Pure: the caller feeds
 * it and decides when to read, so unread bytes stay queued (backpressure) and can be taken
 * whole when the connection turns into a byte pipe.
 */
export class LineBuffer {
  #buffer: Buffer = Buffer.alloc(0);

  constructor(readonly maxLineBytes: number) {}

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
  }

  /**
   * The next line without its CRLF; undefined when none is complete yet.
   * Throws LineTooLongError when more than maxLineBytes arrive without a line end.
   */
  nextLine(): Buffer | undefined {
    const end = this.#buffer.indexOf(CRLF);
    if (end === -1) {
      if (this.#buffer.length > this.maxLineBytes) {
        this.#buffer = Buffer.alloc(0);
        throw new LineTooLongError();
      }
      return undefined;
    }
    if (end > this.maxLineBytes) {
      this.#buffer = Buffer.alloc(0);
      throw new LineTooLongError();
    }
    const line = this.#buffer.subarray(0, end);
    this.#buffer = this.#buffer.subarray(end + 2);
    return line;
  }

  /** Exactly `length` bytes (an IMAP literal), or undefined until that many are buffered. */
  take(length: number): Buffer | undefined {
    if (this.#buffer.length < length) return undefined;
    const bytes = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return bytes;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /** Everything not read yet; clears the buffer. */
  takeRemaining(): Buffer {
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    return rest;
  }
}

export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  constructor() {
    super('Line too long.');
  }
}
