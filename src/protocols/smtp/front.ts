import { SMTPServer, type SMTPServerAddress, type SMTPServerAuthentication, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { AccountConfig, ListenerConfig } from '../../config/types.js';
import type { ProxyContext } from '../../context.js';
import { login, type UpstreamLogin } from '../../login.js';
import { Secret } from '../../secret.js';
import { UpstreamError } from '../../upstream/errors.js';
import { noticeThrottling } from '../../upstream/mailbox-limits.js';
import { SmtpUpstream } from '../../upstream/smtp-client.js';
import { newSessionId } from '../session.js';
import type { ClientSockets } from './client-sockets.js';
import { readDataFaithfully } from './data-reader.js';
import { formatReply, type SmtpReply } from './reply.js';
import { GOODBYE, SmtpShutdown } from './shutdown.js';

/** Per-client state beside smtp-server's session object. */
interface RelaySession {
  /** The proxy context when the client connected; a config reload affects new sessions only. */
  ctx: ProxyContext;
  log: Logger;
  started: number;
  /**
   * Aborted when the client is gone: a login still waiting gives up, and an upstream session
   * opened from now on is not wanted.
   */
  left: AbortController;
  /** The client's TCP connection, for its byte counters. */
  socket?: Socket | undefined;
  /** Gives the connection's place back to the connection limits (see ClientSockets). */
  release?: (() => void) | undefined;
  account?: AccountConfig;
  upstream?: SmtpUpstream;
  openUpstream?: () => Promise<SmtpUpstream>;
  /** A MAIL was accepted upstream and not finished by DATA: reset it before the next MAIL. */
  transactionOpen: boolean;
  /** A step (AUTH, MAIL, RCPT, DATA) waits for the upstream. */
  busy: boolean;
  /** Logins refused on this connection (wrong password, unknown user, lockout). */
  failedLogins: number;
  messages: number;
  /** Text of the upstream's last reply, passed on as the text of the final 250 for DATA. */
  lastReplyText?: string;
}

/** An smtp-server error with the reply code (and text) the client must get. */
function reply(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code });
}

function relayed(answer: SmtpReply): Error & { responseCode: number } {
  // smtp-server writes one line: keep Exchange's enhanced code and join continuation lines.
  return reply(answer.code, answer.lines.join(' ').trim() || 'Error');
}

/** smtp-server closes the client connection after any 421, as RFC 5321 wants. */
const UPSTREAM_LOST = () => reply(421, '4.4.2 Connection to the mail server was lost, try again');

export type SmtpFront = SMTPServer & {
  /**
   * Stops accepting and closes every session, giving transactions in progress `graceMs` to
   * finish; a message whose end went to Exchange always gets Exchange's verdict (shutdown.ts).
   * Use this, not close().
   */
  shutdown(graceMs: number): Promise<void>;
};

/**
 * The SMTP front: nodemailer's smtp-server speaks SMTP to the client (EHLO, STARTTLS, AUTH
 * PLAIN/LOGIN, DATA parsing); its hooks relay each step upstream as it happens, so the client
 * gets Exchange's own verdict for MAIL, each RCPT and the message. A message is acknowledged
 * only after Exchange acknowledged it; nothing is queued.
 */
export function createSmtpFront(currentContext: () => ProxyContext, listener: ListenerConfig, baseLog: Logger, onSession: (delta: 1 | -1) => void, clientSockets: ClientSockets): SmtpFront {
  const sessions = new Map<string, RelaySession>();
  const state = (session: SMTPServerSession) => sessions.get(session.id)!;
  const plain = listener.tls === 'none';
  const localTls = currentContext().config.tls;
  const tlsKeys = localTls && !plain ? { key: localTls.key.reveal(), cert: localTls.cert } : {};
  readDataFaithfully();

  const server = new SMTPServer({
    ...tlsKeys,
    secure: listener.tls === 'implicit',
    hideSTARTTLS: plain,
    disabledCommands: plain ? ['STARTTLS'] : [],
    // On a STARTTLS listener AUTH waits for TLS; "none" is loopback-only unless explicitly allowed.
    allowInsecureAuth: plain,
    authMethods: ['PLAIN', 'LOGIN'],
    // MAIL before AUTH is refused in onMailFrom, with the RFC 4954 reply text.
    authOptional: true,
    // No DNS on the accept path: bursts must not wait for reverse lookups.
    disableReverseLookup: true,
    banner: 'o365-mail-proxy ESMTP ready',
    logger: false,
    // A silent client is told 421 and closed; smtp-server does not count time it waits for us.
    socketTimeout: currentContext().config.clients.idleTimeoutMs,
    // No closeTimeout: shutdown is SmtpShutdown's, smtp-server's close() is never called.

    onConnect(session, callback) {
      // A TLS handshake that was under way when the shutdown began.
      if (shutdown.stopping) return callback(reply(421, GOODBYE));
      const log = baseLog.child({ sid: newSessionId(), proto: 'smtp', client: `${session.remoteAddress}:${session.remotePort}` });
      const accepted = clientSockets.take(session.id);
      sessions.set(session.id, { ctx: currentContext(), log, started: Date.now(), left: new AbortController(), socket: accepted?.socket, release: accepted?.release, transactionOpen: false, busy: false, failedLogins: 0, messages: 0 });
      onSession(1);
      log.info({ event: 'connect', tls: session.secure }, 'client connected');
      callback();
    },

    onAuth(auth: SMTPServerAuthentication, session, callback) {
      const relay = state(session);
      const { ctx } = relay;
      if (relay.account) return callback(reply(503, '5.5.1 Already authenticated'));
      const attempt = { credentials: { username: auth.username ?? '', password: new Secret(auth.password ?? '') }, protocol: 'smtp' as const, clientAddress: session.remoteAddress, previousFailures: relay.failedLogins, signal: relay.left.signal };
      const open: UpstreamLogin<SmtpUpstream> = async (account, token) => {
        const upstream = await SmtpUpstream.open(ctx.connector, ctx.config.upstream.smtp, account.mailbox, token.token, ctx.config.upstream.loginTimeoutMs);
        // Exchange throttles submissions with 4xx replies to MAIL, RCPT or DATA too.
        const log = relay.log.child({ mailbox: account.mailbox });
        upstream.onReply = (answer) => void noticeThrottling(ctx, account.mailbox, 'smtp', formatReply(answer), log);
        return upstream;
      };
      whileBusy(session, relay, () => login(ctx, attempt, relay.log, open)).then((outcome) => {
        if (outcome.ok && relay.left.signal.aborted) {
          // The client left (or was told goodbye) during the login: nobody will use this one.
          void outcome.upstream.quit();
          return;
        }
        if (!outcome.ok) {
          if (outcome.kind === 'denied' && ++relay.failedLogins >= ctx.config.clients.maxLoginAttemptsPerConnection) {
            // smtp-server closes the connection after a 421.
            return callback(reply(421, '4.7.0 Too many failed logins, closing connection'));
          }
          if (outcome.kind === 'denied') return callback(reply(535, '5.7.8 Authentication credentials invalid'));
          if (outcome.kind === 'temporary') return callback(reply(454, `4.7.0 ${outcome.reason}`));
          return callback(reply(535, `5.7.8 ${outcome.reason}`));
        }
        relay.account = outcome.account;
        relay.upstream = outcome.upstream;
        // Later reconnects (the upstream may drop an idle session) take the same path.
        relay.openUpstream = async () => {
          const again = await login(ctx, attempt, relay.log, open);
          if (!again.ok) throw new UpstreamError('unreachable', 'could not log in upstream again');
          return again.upstream;
        };
        callback(null, { user: outcome.account.username });
      }, (error: Error) => callback(reply(454, `4.7.0 ${error.message}`)));
    },

    onMailFrom(address: SMTPServerAddress, session, callback) {
      const relay = state(session);
      if (!relay.account) return callback(reply(530, '5.7.0 Authentication required'));
      if (shutdown.stopping) return callback(reply(421, GOODBYE));
      whileBusy(session, relay, () => relayStep(relay, async (upstream) => {
        if (relay.transactionOpen) {
          relay.transactionOpen = false;
          await upstream.command('RSET');
        }
        const answer = await upstream.command(`MAIL FROM:<${address.address}>${params(address)}`);
        relay.transactionOpen = answer.code < 300;
        return answer;
      }, true)).then(callback, callback);
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const relay = state(session);
      whileBusy(session, relay, () => relayStep(relay, (upstream) => upstream.command(`RCPT TO:<${address.address}>${params(address)}`), false)).then(callback, callback);
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const relay = state(session);
      whileBusy(session, relay, () => relayStep(relay, async (upstream) => {
        const answer = await upstream.data(stream);
        relay.transactionOpen = false;
        if (answer.code < 300) {
          relay.messages++;
          relay.log.info({ event: 'smtp.message', bytes: stream.byteLength, recipients: session.envelope.rcptTo.length }, 'message accepted upstream');
        } else {
          relay.log.info({ event: 'smtp.message-refused', code: answer.code }, 'message refused upstream');
        }
        return answer;
      }, false)).then(
        (error) => {
          // smtp-server answers only after the stream ended; make sure it does.
          if (!stream.readableEnded) stream.resume();
          if (error) return callback(error);
          callback(null, relay.lastReplyText);
        },
        (error: Error) => callback(error),
      );
    },

    onClose(session) {
      const relay = sessions.get(session.id);
      if (!relay) return;
      sessions.delete(session.id);
      relay.release?.();
      relay.left.abort();
      shutdown.sessionClosed();
      onSession(-1);
      void relay.upstream?.quit();
      const bytesFromClient = relay.socket?.bytesRead ?? 0;
      const bytesToClient = relay.socket?.bytesWritten ?? 0;
      relay.ctx.metrics.bytes.add({ protocol: 'smtp', direction: 'up' }, bytesFromClient);
      relay.ctx.metrics.bytes.add({ protocol: 'smtp', direction: 'down' }, bytesToClient);
      relay.log.info({ event: 'close', loggedIn: Boolean(relay.account), messages: relay.messages, bytesFromClient, bytesToClient, durationMs: Date.now() - relay.started }, 'session closed');
    },
  });
  const shutdown = new SmtpShutdown(server, sessions);

  /** Runs one step with the session marked busy; a shutdown may say goodbye once it is answered. */
  function whileBusy<T>(session: SMTPServerSession, relay: RelaySession, step: () => Promise<T>): Promise<T> {
    relay.busy = true;
    return step().finally(() => {
      relay.busy = false;
      shutdown.afterStep(session.id);
    });
  }

  return Object.assign(server, { shutdown: (graceMs: number) => shutdown.stop(graceMs) });
}

/**
 * Runs one relay step against the upstream session and turns its reply into smtp-server's
 * callback shape: undefined for 2xx/3xx (smtp-server sends its 250), an Error carrying
 * Exchange's code and text otherwise. `mayReconnect`: at the start of a transaction a lost
 * upstream session is replaced transparently; in the middle of one it cannot be.
 */
async function relayStep(relay: RelaySession, step: (upstream: SmtpUpstream) => Promise<SmtpReply>, mayReconnect: boolean): Promise<Error | undefined> {
  try {
    if (!relay.upstream || relay.upstream.closed) {
      if (!mayReconnect || !relay.openUpstream) {
        relay.transactionOpen = false;
        return UPSTREAM_LOST();
      }
      relay.log.info({ event: 'upstream.reconnect' }, 'upstream SMTP session was closed; opening a new one');
      relay.transactionOpen = false;
      // Closed for good, so that its place among the mailbox's sessions is free for the new one.
      relay.upstream?.close();
      relay.upstream = await relay.openUpstream();
      if (relay.left.signal.aborted) {
        // The client left during the reconnect; onClose could not quit this one.
        void relay.upstream.quit();
        return UPSTREAM_LOST();
      }
    }
    const answer = await step(relay.upstream);
    relay.lastReplyText = answer.lines.join(' ').trim();
    return answer.code < 400 ? undefined : relayed(answer);
  } catch (error) {
    relay.transactionOpen = false;
    relay.log.warn({ event: 'upstream.error', cause: (error as Error).message }, 'upstream SMTP step failed');
    relay.upstream?.close();
    return UPSTREAM_LOST();
  }
}

/** MAIL/RCPT parameters as the client gave them (BODY=8BITMIME, SIZE=..., SMTPUTF8, DSN). */
function params(address: SMTPServerAddress): string {
  if (!address.args) return '';
  return Object.entries(address.args).map(([key, value]) => (value === true ? ` ${key}` : ` ${key}=${value}`)).join('');
}
