import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * A scripted line client for conversation tests: send exact bytes, read exact lines, the
 * way the RFCs write exchanges ("C: a1 LOGIN {5}" / "S: + Ready").
 */
export class WireClient {
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  /** `localAddress`: another loopback address (127.0.0.2, ...) to be a different client machine. */
  static open(port: number, options: { tls?: boolean; ca?: string; localAddress?: string } = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const from = options.localAddress ? { localAddress: options.localAddress } : {};
      const socket = options.tls
        ? tlsConnect({ host: '127.0.0.1', port, ca: options.ca, servername: 'localhost', ...from }, () => resolve(new WireClient(socket)))
        : connect({ host: '127.0.0.1', port, ...from }, () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Next CRLF-terminated line, without CRLF. */
  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end !== -1) {
        const line = this.#buffer.subarray(0, end).toString('utf8');
        this.#buffer = this.#buffer.subarray(end + 2);
        return line;
      }
      if (this.#closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.#buffer.toString())}`);
      await this.#wait(deadline);
    }
  }

  /** Lines up to and including the first one matching `last`. */
  async until(last: RegExp, timeoutMs = 10_000): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line(timeoutMs);
      lines.push(line);
      if (last.test(line)) return lines;
    }
  }

  /** Resolves when the server has closed the connection. */
  async ended(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) await this.#wait(deadline);
  }

  close(): void {
    this.socket.destroy();
  }

  #wait(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; unread: ${JSON.stringify(this.#buffer.toString().slice(0, 200))}`)), Math.max(0, deadline - Date.now()));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
