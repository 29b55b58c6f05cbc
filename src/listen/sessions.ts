import { randomBytes } from 'node:crypto';
import type { ProxyContext } from '../auth/context.js';
import type { Protocol } from '../config/types.js';
import type { OpenedSession, SessionControl, SessionRegistrar } from '../fronts/session.js';
import { describeClient } from './acceptor.js';
import type { ClientAddress } from './proxy-reader.js';

export function newSessionId(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * Every client session of the proxy, IMAP, POP3 and SMTP alike, from the front's start to its
 * end: counted (metrics, activeSessions), given one child logger and the context of now, and
 * stopped together with one grace.
 */
export class SessionRegistry implements SessionRegistrar {
  /** Replaced by a reload; each session keeps the one it opened with. */
  context: ProxyContext;
  readonly #sessions = new Set<SessionControl>();
  #emptied: (() => void) | undefined;

  constructor(context: ProxyContext) {
    this.context = context;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Registers a session and starts its front with `start`, which returns how to stop it. A
   * front that fails to start is logged and closed here (`onFailure` cleans up its socket).
   */
  open(protocol: Protocol, client: ClientAddress, start: (session: OpenedSession) => SessionControl, onFailure: () => void): void {
    const { context: ctx } = this;
    const log = ctx.log.child({ sid: newSessionId(), proto: protocol, client: describeClient(client) });
    let control: SessionControl | undefined;
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      if (control) this.#sessions.delete(control);
      ctx.metrics.sessionClosed(protocol);
      if (this.#sessions.size === 0) this.#emptied?.();
    };
    ctx.metrics.sessionOpened(protocol);
    try {
      control = start({ log, ctx, close });
      if (open) this.#sessions.add(control);
    } catch (error) {
      log.error({ event: 'session.error', cause: (error as Error).message }, 'session failed to start');
      onFailure();
      close();
    }
  }

  /**
   * Says goodbye to every session, cuts them when `graceMs` is over, and resolves once they are
   * gone and `listenersClosed` resolved, waiting at most a second past the grace for sessions
   * (one whose socket was cut in the middle of a TLS upgrade may never report its end).
   */
  async shutdown(graceMs: number, listenersClosed: Promise<unknown>): Promise<void> {
    for (const session of [...this.#sessions]) session.shutdown();
    const deadline = setTimeout(() => {
      for (const session of [...this.#sessions]) session.abort();
    }, graceMs);
    await listenersClosed;
    await new Promise<void>((resolve) => {
      const giveUp = setTimeout(resolve, graceMs + 1000);
      this.#emptied = () => {
        clearTimeout(giveUp);
        resolve();
      };
      if (this.#sessions.size === 0) this.#emptied();
    });
    clearTimeout(deadline);
  }
}
