import type { Socket } from 'node:net';

/**
 * smtp-server owns the client socket and does not show it to its hooks, so the SMTP front
 * cannot count bytes each way the way the IMAP and POP3 pipes do. The accept path registers
 * each TCP socket here under the connection id it hands to smtp-server's `connect()`, which
 * becomes the session's id, and the session takes it from here. Its counters stay valid after
 * STARTTLS or an implicit TLS handshake, which wrap that socket; on TLS listeners they count
 * the encrypted bytes.
 */
export class ClientSockets {
  readonly #accepted = new Map<string, AcceptedSocket>();

  /**
   * `release` gives the connection's place back to the connection limits: the session calls it
   * when it closes, because smtp-server's STARTTLS removes every listener from the TCP socket,
   * the accept path's close listener with them.
   */
  add(id: string, socket: Socket, release: () => void): void {
    this.#accepted.set(id, { socket, release });
    // A socket that never becomes a session (smtp-server closed it early) is forgotten here.
    socket.once('close', () => {
      if (this.#accepted.get(id)?.socket === socket) this.#accepted.delete(id);
    });
  }

  /** The accepted socket of a new session, handed over once. */
  take(id: string): AcceptedSocket | undefined {
    const accepted = this.#accepted.get(id);
    this.#accepted.delete(id);
    return accepted;
  }
}

export interface AcceptedSocket {
  socket: Socket;
  release: () => void;
}
