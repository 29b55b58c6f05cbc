import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { LineBuffer } from '../../wire/line-buffer.js';

/** A step that did not work, with what the server said or what happened instead. */
export class StepFailure extends Error {
  override readonly name = 'StepFailure';
}

const MAX_LINE_BYTES = 64 * 1024;

/**
 * test-login's side of one connection to a local listener: lines in, bytes out, TLS on demand.
 * Every wait has a deadline, and every way the connection can end becomes a StepFailure
 * that says how, so a step never hangs and never throws anything else.
 */
export class ProbeConnection {
  #socket: Socket;
  #lines = new LineBuffer(MAX_LINE_BYTES);
  #wake: (() => void) | undefined;
  #ended: string | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.#lines.push(chunk);
    this.#wake?.();
  };
  readonly #onEnd = () => this.#end('closed');
  readonly #onError = (error: NodeJS.ErrnoException) => this.#end(error.code ?? error.message);

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#attach(socket);
  }

  static open(host: string, port: number, timeoutMs: number): Promise<ProbeConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => fail(new StepFailure(`no connection within ${timeoutMs / 1000} s`)), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error instanceof StepFailure ? error : new StepFailure(`${(error as NodeJS.ErrnoException).code ?? error.message}: is the proxy running, and is this the config it runs with?`));
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(new ProbeConnection(socket));
      });
    });
  }

  get socket(): Socket {
    return this.#socket;
  }

  write(data: string | Buffer): void {
    this.#socket.write(data);
  }

  /** The next line, decoded as UTF-8 for the report. */
  async readLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.#nextLine();
      if (line) return line.toString('utf8');
      if (this.#ended) throw new StepFailure(`the proxy closed the connection (${this.#ended})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new StepFailure(`no answer within ${timeoutMs / 1000} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Client side of TLS on this connection: right after connecting (implicit TLS) or after STARTTLS. */
  async startTls(timeoutMs: number): Promise<TLSSocket> {
    this.#detach(this.#socket);
    // Anything the server sent before the handshake is dropped, as a client must (plaintext injection).
    this.#lines.takeRemaining();
    // The certificate is reported, not judged: clients are told to trust the proxy's own one.
    const secure = tlsConnect({ socket: this.#socket, servername: 'localhost', rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StepFailure(`no TLS handshake within ${timeoutMs / 1000} s`)), timeoutMs);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        resolve();
      });
      secure.once('error', (error) => {
        clearTimeout(timer);
        reject(new StepFailure(`TLS handshake failed: ${error.message}`));
      });
    });
    this.#socket = secure;
    this.#attach(secure);
    return secure;
  }

  #nextLine(): Buffer | undefined {
    try {
      return this.#lines.nextLine();
    } catch {
      throw new StepFailure(`the proxy sent a line longer than ${MAX_LINE_BYTES / 1024} KiB`);
    }
  }

  close(): void {
    this.#socket.destroy();
  }

  #end(reason: string): void {
    this.#ended ??= reason;
    this.#wake?.();
  }

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  #detach(socket: Socket): void {
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onEnd);
    socket.off('error', this.#onError);
  }
}
