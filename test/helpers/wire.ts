import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * A scripted line client for conversation tests, against the proxy or the sandbox: send exact
 * bytes, read exact lines or byte counts, the way the RFCs write exchanges ("C: a1 LOGIN {5}" /
 * "S: + Ready"). Lines are decoded as Latin-1, one character per byte, so they can be turned
 * back into the bytes the server sent.
 */
export class WireClient {
  #socket: Socket;
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #closed = false;
  readonly #onData = (chunk: Buffer) => {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    this.#wake();
  };
  readonly #onClose = () => {
    this.#closed = true;
    this.#wake();
  };

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#attach(socket);
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

  /** A client on a socket opened otherwise (after writing a PROXY header, or kept paused until now). */
  static wrap(socket: Socket): WireClient {
    const client = new WireClient(socket);
    socket.resume();
    return client;
  }

  /** The connection now (a TLS socket after startTls). */
  get socket(): Socket {
    return this.#socket;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Client side of STARTTLS / STLS on this connection. */
  async startTls(ca: string): Promise<void> {
    this.#socket.off('data', this.#onData);
    this.#socket.off('close', this.#onClose);
    const secure = tlsConnect({ socket: this.#socket, ca, servername: 'localhost' });
    await new Promise((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.#socket = secure;
    this.#attach(secure);
  }

  send(data: string | Buffer): void {
    this.#socket.write(data);
  }

  /** Next CRLF-terminated line, without CRLF. */
  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end !== -1) {
        const line = this.#buffer.subarray(0, end).toString('latin1');
        this.#buffer = this.#buffer.subarray(end + 2);
        return line;
      }
      if (this.#closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.#buffer.toString('latin1'))}`);
      await this.#wait(deadline);
    }
  }

  /** Exactly `count` bytes (an IMAP literal, say). */
  async bytes(count: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.#buffer.length < count) {
      if (this.#closed) throw new Error(`connection closed before ${count} bytes; unread: ${JSON.stringify(this.#buffer.toString('latin1'))}`);
      await this.#wait(deadline);
    }
    const data = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return data;
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
    this.#socket.destroy();
  }

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('close', this.#onClose);
    socket.on('error', () => {});
  }

  #wait(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; unread: ${JSON.stringify(this.#buffer.toString('latin1').slice(0, 200))}`)), Math.max(0, deadline - Date.now()));
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
