// One client connection of a sandbox mail server: the socket (replaced on STARTTLS), its
// reader, and writes that respect backpressure, so a 50 MiB FETCH or RETR is sent at the
// client's pace instead of being queued in memory.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { SocketReader } from './reader.js';

/** Large buffers are written in slices of this size, each after the previous one drained. */
const WRITE_SLICE = 256 * 1024;
/** Sessions idle this long are closed (longer than IMAP's 29-minute IDLE refresh). */
const IDLE_TIMEOUT_MS = 31 * 60_000;

export class ConnectionClosed extends Error {
  constructor() {
    super('connection closed');
  }
}

export class Connection {
  #socket: Socket;
  #reader: SocketReader;
  #ending = false;

  constructor(socket: Socket, private readonly registry: Set<Connection>) {
    this.#socket = socket;
    this.#reader = new SocketReader(socket);
    this.#watch(socket);
    registry.add(this);
  }

  get reader(): SocketReader {
    return this.#reader;
  }

  get secure(): boolean {
    return this.#socket instanceof TLSSocket;
  }

  get closed(): boolean {
    return this.#socket.destroyed || !this.#socket.writable;
  }

  get remoteAddress(): string {
    return this.#socket.remoteAddress ?? '127.0.0.1';
  }

  /** Writes and waits until the socket can take more; rejects with ConnectionClosed. */
  async send(data: string | Buffer): Promise<void> {
    const buffer = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (buffer.length <= WRITE_SLICE) return this.#writeOne(buffer);
    for (let offset = 0; offset < buffer.length; offset += WRITE_SLICE) {
      await this.#writeOne(buffer.subarray(offset, offset + WRITE_SLICE));
    }
  }

  /** Fire-and-forget write for small unsolicited lines (IDLE updates, BYE). */
  write(data: string): void {
    if (!this.closed) this.#socket.write(Buffer.from(data, 'latin1'));
  }

  /** True once end() was called. */
  get ending(): boolean {
    return this.#ending;
  }

  /** Sends `last`, then closes gracefully. */
  end(last?: string): void {
    if (this.#ending || this.closed) return;
    this.#ending = true;
    if (last === undefined) this.#socket.end();
    else this.#socket.end(Buffer.from(last, 'latin1'));
    // a peer that never reads must not keep the socket forever
    setTimeout(() => this.destroy(), 2000).unref();
  }

  destroy(): void {
    this.#socket.destroy();
    this.registry.delete(this);
  }

  /** Server side of STARTTLS: forget unread plaintext, handshake, continue on the TLS socket. */
  async startTls(context: SecureContext): Promise<void> {
    const plain = this.#socket;
    this.#reader.detach();
    plain.setTimeout(0);
    plain.removeAllListeners('timeout');
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    this.#socket = secure;
    this.#reader = new SocketReader(secure);
    this.#watch(secure);
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        secure.off('secure', onSecure);
        secure.off('close', onClose);
        secure.off('error', onError);
        if (error) reject(error);
        else resolve();
      };
      const onSecure = (): void => done();
      const onClose = (): void => done(new ConnectionClosed());
      const onError = (error: Error): void => done(error);
      secure.once('secure', onSecure);
      secure.once('close', onClose);
      secure.once('error', onError);
    });
  }

  #watch(socket: Socket): void {
    // ECONNRESET and friends end the session; they must never become uncaught exceptions.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.registry.delete(this));
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
  }

  #writeOne(buffer: Buffer): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return Promise.reject(new ConnectionClosed());
    if (socket.write(buffer)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (error?: Error): void => {
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = (): void => finish();
      const onClose = (): void => finish(new ConnectionClosed());
      socket.on('drain', onDrain);
      socket.on('close', onClose);
    });
  }
}
