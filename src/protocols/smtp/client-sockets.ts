import type { Server, Socket } from 'node:net';

/**
 * smtp-server owns the client socket and does not show it to its hooks, so the SMTP front
 * cannot count bytes each way the way the IMAP and POP3 pipes do. This hands the accepted TCP
 * socket to the session that smtp-server opens for it, matched by the client's address and
 * port (the same normalisation smtp-server applies: IPv4-mapped prefix dropped, lower case).
 * Its counters stay valid after STARTTLS or an implicit TLS handshake, which wrap that socket;
 * on TLS listeners they count the encrypted bytes.
 */
export class ClientSockets {
  readonly #accepted = new Map<string, Socket>();

  /** Watches a listener; call before smtp-server's own connection handler gets the socket. */
  watch(server: Server): void {
    server.prependListener('connection', (socket: Socket) => {
      const key = ClientSockets.#key(socket.remoteAddress, socket.remotePort);
      this.#accepted.set(key, socket);
      // A socket that never becomes a session (failed handshake, refused) is forgotten here.
      socket.once('close', () => {
        if (this.#accepted.get(key) === socket) this.#accepted.delete(key);
      });
    });
  }

  /** The accepted socket of a new session, handed over once. */
  take(remoteAddress: string, remotePort: number): Socket | undefined {
    const key = ClientSockets.#key(remoteAddress, remotePort);
    const socket = this.#accepted.get(key);
    this.#accepted.delete(key);
    return socket;
  }

  static #key(address: string | undefined, port: number | undefined): string {
    return `${(address ?? '').replace(/^::ffff:/i, '').toLowerCase()}|${port ?? 0}`;
  }
}
