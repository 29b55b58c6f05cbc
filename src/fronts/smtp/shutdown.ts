import type { Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { SessionControl } from '../session.js';
import { SMTP_REPLIES } from './replies.js';

/** What the shutdown needs to know about one SMTP session. */
export interface StoppableSession {
  /** One of its steps (AUTH, MAIL, RCPT, DATA) waits for the upstream. */
  busy: boolean;
  /** A MAIL was accepted upstream and its message is not finished. */
  transactionOpen: boolean;
  /** The shutdown grace is over for it: only a verdict Exchange still owes may keep it. */
  graceOver?: boolean;
  upstream?: { readonly awaitingVerdict: boolean; close(): void };
  /** The same for a session that sends through Microsoft Graph. */
  graph?: { readonly awaitingVerdict: boolean; close(): void };
  readonly log: Logger;
}

/** The 421 every session gets when the proxy stops. */
export const GOODBYE = SMTP_REPLIES.shutdown({ kind: 'shutdown' }, '*')!;

/**
 * Stops an SMTP front without ever telling a client "421" for a message Exchange may have
 * delivered (a retrying client would send it twice). smtp-server's own close() cannot do
 * that: when its timeout ends it says 421 to every connection, one waiting for Exchange's
 * answer to the final dot included, and it answers 421 to every command from the start. So,
 * the listener part here and each session's part through the session registry:
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
  #listenerClosed: Promise<void> | undefined;

  constructor(
    private readonly server: SMTPServer,
    private readonly sessions: Map<string, StoppableSession>,
  ) {}

  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * No new connections; a connection not greeted yet gets 421 (allowed instead of a greeting,
   * RFC 5321 3.1). Resolves when the listener and all its connections are closed. Idempotent.
   */
  stopListening(): Promise<void> {
    this.#listenerClosed ??= new Promise<void>((resolve) => {
      this.#stopping = true;
      this.server.server.close(() => resolve());
      for (const connection of this.server.connections) {
        if (!this.sessions.has(connection.session.id)) connection.send(GOODBYE.code, GOODBYE.text);
      }
    });
    return this.#listenerClosed;
  }

  /** How the session registry stops one session. */
  control(sessionId: string): SessionControl {
    return {
      shutdown: () => {
        this.#stopping = true;
        const session = this.sessions.get(sessionId);
        if (session && isIdle(session)) this.#goodbye(sessionId);
      },
      abort: () => this.#endGrace(sessionId),
    };
  }

  /** A step of the session has been answered (or is being): say goodbye after it if due. */
  afterStep(sessionId: string): void {
    if (!this.#stopping) return;
    setImmediate(() => {
      const session = this.sessions.get(sessionId);
      if (session && (session.graceOver ? !verdictOwed(session) : isIdle(session))) this.#goodbye(sessionId);
    });
  }

  #endGrace(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    session.graceOver = true;
    if (verdictOwed(session)) {
      session.log.info({ event: 'shutdown.awaiting-verdict' }, 'shutdown grace over; the message went to the mail server, waiting for its answer');
      return;
    }
    if (!isIdle(session)) session.log.info({ event: 'shutdown.cut' }, 'shutdown grace over; transaction in progress cut with 421, nothing delivered');
    // Abort before the client hears anything: a message still streaming must never get
    // its terminator upstream.
    if (session.busy) {
      session.upstream?.close();
      session.graph?.close();
    }
    this.#goodbye(sessionId);
  }

  #goodbye(sessionId: string): void {
    this.#connection(sessionId)?.send(GOODBYE.code, GOODBYE.text);
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

/** The message went upstream (Exchange or Graph) and its verdict has not come back. */
function verdictOwed(session: StoppableSession): boolean {
  return Boolean(session.upstream?.awaitingVerdict || session.graph?.awaitingVerdict);
}
