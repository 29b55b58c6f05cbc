import type { Socket } from 'node:net';
import { LineBuffer, LineTooLongError } from '../wire/line-buffer.js';
import { UpstreamError } from '../outbound/errors.js';

/**
 * Reads CRLF lines from an upstream socket during the login dialogue (and, for SMTP, the
 * whole session). `release()` stops reading and hands back any bytes that arrived after the
 * last line read, so they can be forwarded once the connection becomes a pipe.
 */
export class SocketLineReader {
  readonly #socket: Socket;
  readonly #lines = new LineBuffer(64 * 1024);
  readonly #label: string;
  #waiter: (() => void) | undefined;
  #ended: Error | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.#lines.push(chunk);
    this.#wake();
  };
  readonly #onEnd = () => {
    this.#ended ??= new UpstreamError('closed', `${this.#label} closed the connection`);
    this.#wake();
  };
  readonly #onError = (error: Error) => {
    this.#ended ??= new UpstreamError('closed', `${this.#label} connection failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
    this.#wake();
  };

  constructor(socket: Socket, label: string) {
    this.#socket = socket;
    this.#label = label;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
    // A socket may arrive paused (a proxy tunnel holding the server's first bytes): let it flow.
    socket.resume();
  }

  get closed(): boolean {
    return this.#ended !== undefined;
  }

  /** Next line (UTF-8, without CRLF). Rejects on close, overlong line or deadline (epoch ms). */
  async readLine(deadline: number): Promise<string> {
    for (;;) {
      let line: Buffer | undefined;
      try {
        line = this.#lines.nextLine();
      } catch (error) {
        if (error instanceof LineTooLongError) throw new UpstreamError('protocol', `${this.#label} sent a line over 64 KiB`);
        throw error;
      }
      if (line) return line.toString('utf8');
      if (this.#ended) throw this.#ended;
      await this.#wait(deadline);
    }
  }

  #wait(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const remaining = deadline - Date.now();
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new UpstreamError('timeout', `${this.#label} did not answer in time`));
      }, Math.max(0, remaining));
      this.#waiter = () => {
        clearTimeout(timer);
        this.#waiter = undefined;
        resolve();
      };
    });
  }

  #wake(): void {
    this.#waiter?.();
  }

  /** Stops reading; returns unread bytes. The socket is left paused for whoever takes it over. */
  release(): Buffer {
    this.#socket.pause();
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#onError);
    return this.#lines.takeRemaining();
  }
}
