import type { Socket } from 'node:net';

/**
 * What a bench client reads: CRLF lines for the conversation, and large answers skipped
 * without being kept (an IMAP literal by its length, a POP3 answer up to its terminator),
 * so the client costs as little as a client can: direct and proxied runs are compared, and a
 * slow client would hide what the proxy costs.
 */
export class Reader {
  #chunks: Buffer[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }

  /** The next line, without its CRLF. */
  async line(): Promise<string> {
    for (;;) {
      if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
      const first = this.#chunks[0];
      const end = first ? first.indexOf('\r\n') : -1;
      if (first && end !== -1) {
        this.#chunks = end + 2 < first.length ? [first.subarray(end + 2)] : [];
        return first.subarray(0, end).toString('latin1');
      }
      await this.#more();
    }
  }

  /** Lines up to the first that matches `pattern`; that line. */
  async until(pattern: RegExp): Promise<string> {
    for (;;) {
      const line = await this.line();
      if (pattern.test(line)) return line;
    }
  }

  /** Reads and drops exactly `count` bytes. */
  async skip(count: number): Promise<void> {
    while (count > 0) {
      const first = this.#chunks[0] ?? (await this.#more(), undefined);
      if (!first) continue;
      if (first.length <= count) {
        this.#chunks.shift();
        count -= first.length;
      } else {
        this.#chunks[0] = first.subarray(count);
        count = 0;
      }
    }
  }

  /**
   * Reads and drops bytes until what arrived ends with `ending` (a POP3 answer's "\r\n.\r\n":
   * dot-stuffing keeps it out of the message, and nothing follows it unasked), looking only at
   * the last bytes of each chunk. `before`: the bytes just before (they may begin `ending`).
   * The number of bytes dropped, `ending`'s own included.
   */
  async skipToEnding(ending: Buffer, before: Buffer): Promise<number> {
    let tail = before;
    let count = 0;
    for (;;) {
      const chunk = this.#chunks.shift() ?? (await this.#more(), undefined);
      if (!chunk) continue;
      count += chunk.length;
      tail = chunk.length >= ending.length ? chunk.subarray(-ending.length) : Buffer.concat([tail, chunk]).subarray(-ending.length);
      if (tail.equals(ending)) return count;
    }
  }

  #more(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
