import type { Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/** What the shutdown needs to know about one SMTP session. */
export interface StoppableSession {
  /** One of its steps (AUTH, MAIL, RCPT, DATA) waits for the upstream. */
  busy: boolean;
  /** A MAIL was accepted upstream and its message is not finished. */
  transactionOpen: boolean;
  upstream?: { readonly awaitingVerdict: boolean; close(): void };
  log: Logger;
}

/** RFC 3463 4.3.2: system not accepting network messages. smtp-server closes after any 421. */
export const GOODBYE = '4.3.2 o365-mail-proxy is shutting down, try again later';

/**
 * Stops an SMTP front without ever telling a client "421" for a message Exchange may have
 * delivered (a retrying client would send it twice). smtp-server's own close() cannot do
 * that: when its timeout ends it says 421 to every connection, one waiting for Exchange's
 * answer to the final dot included, and it answers 421 to every command from the start. So:
 *
 *   - at once: no new connections; sessions with nothing in progress are told 421;
 *   - during the grace: a transaction in progress may finish (no new MAIL), each session is
 *     told 421 right after the reply that ends its transaction or step;
 *   - when the grace ends: every session is cut with 421, and a message still coming from
 *     the client is aborted upstream before its end, so Exchange drops it. Except a session
 *     whose final dot went upstream: it gets Exchange's verdict first (bounded by the upstream
 *     answer timeout), then the 421.
 */
export class SmtpShutdown {
  #stopping = false;
  #graceOver = false;
  #done: Promise<void> | undefined;
  #sessionsGone: (() => void) | undefined;

  constructor(
    private readonly server: SMTPServer,
    private readonly sessions: Map<string, StoppableSession>,
  ) {}

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Resolves when every session is closed and the listener with them. Idempotent. */
  stop(graceMs: number): Promise<void> {
    this.#done ??= this.#stop(graceMs);
    return this.#done;
  }

  /** A step of the session has been answered (or is being): say goodbye after it if due. */
  afterStep(sessionId: string): void {
    if (!this.#stopping) return;
    setImmediate(() => {
      const session = this.sessions.get(sessionId);
      if (session && (this.#graceOver ? !session.upstream?.awaitingVerdict : isIdle(session))) this.#goodbye(sessionId);
    });
  }

  /** Called by the front when a session has closed. */
  sessionClosed(): void {
    if (this.sessions.size === 0) this.#sessionsGone?.();
  }

  async #stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const listenerClosed = new Promise<void>((resolve) => this.server.server.close(() => resolve()));
    const sessionsGone = new Promise<void>((resolve) => {
      this.#sessionsGone = resolve;
    });
    for (const connection of this.server.connections) {
      const session = this.sessions.get(connection.session.id);
      // No session yet: smtp-server has not greeted it; a 421 greeting is allowed (RFC 5321 3.1).
      if (!session || isIdle(session)) connection.send(421, GOODBYE);
    }
    const graceTimer = setTimeout(() => this.#endGrace(), graceMs);
    this.sessionClosed();
    await Promise.all([listenerClosed, sessionsGone]);
    clearTimeout(graceTimer);
  }

  #endGrace(): void {
    this.#graceOver = true;
    for (const [id, session] of this.sessions) {
      if (session.upstream?.awaitingVerdict) {
        session.log.info({ event: 'shutdown.awaiting-verdict' }, 'shutdown grace over; the message went to the mail server, waiting for its answer');
        continue;
      }
      if (!isIdle(session)) session.log.info({ event: 'shutdown.cut' }, 'shutdown grace over; transaction in progress cut with 421, nothing delivered');
      // Abort before the client hears anything: a message still streaming must never get
      // its terminator upstream.
      if (session.busy) session.upstream?.close();
      this.#goodbye(id);
    }
  }

  #goodbye(sessionId: string): void {
    this.#connection(sessionId)?.send(421, GOODBYE);
  }

  #connection(sessionId: string): SMTPConnection | undefined {
    for (const connection of this.server.connections) {
      if (connection.session.id === sessionId) return connection;
    }
    return undefined;
  }
}

function isIdle(session: StoppableSession): boolean {
  return !session.busy && !session.transactionOpen;
}
