import { SMTPServer, type SMTPServerAddress, type SMTPServerAuthentication, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { ListenerConfig } from '../../config/types.js';
import { Secret } from '../../config/secret.js';
import type { SessionRegistrar } from '../session.js';
import type { ClientSockets } from './client-sockets.js';
import { readDataFaithfully } from './data-reader.js';
import { logIn, params, relayStep, type RelaySession } from './relay.js';
import { asError, SmtpAnswers } from './replies.js';
import { graphData, graphMailFrom, graphRcptTo } from './graph-session.js';
import type { SmtpReply } from '../../wire/smtp-reply.js';
import { GOODBYE, SmtpShutdown } from './shutdown.js';

type Callback = (error?: Error | null) => void;

export type SmtpFront = SMTPServer & {
  /**
   * The listener's part of a shutdown (each session's part comes from the session registry):
   * no new connections, 421 to those not greeted yet. Resolves when all have closed. Use this,
   * not close().
   */
  stopListening(): Promise<void>;
};

/**
 * The SMTP front: nodemailer's smtp-server speaks SMTP to the client (EHLO, STARTTLS, AUTH
 * PLAIN/LOGIN, DATA parsing); its hooks relay each step upstream as it happens, so the client
 * gets Exchange's own verdict for MAIL, each RCPT and the message. A message is acknowledged
 * only after Exchange acknowledged it; nothing is queued. Sessions are registered with the
 * session registry like IMAP and POP3 ones.
 */
export function createSmtpFront(registry: SessionRegistrar, listener: ListenerConfig, clientSockets: ClientSockets): SmtpFront {
  const { config } = registry.context;
  const plain = listener.tls === 'none';
  const tlsKeys = config.tls && !plain ? { key: config.tls.key.reveal(), cert: config.tls.cert } : {};
  readDataFaithfully();
  const hooks = new SmtpHooks(registry, clientSockets, listener.tls === 'starttls');
  const server = new SMTPServer({
    ...tlsKeys,
    secure: listener.tls === 'implicit',
    hideSTARTTLS: plain,
    disabledCommands: plain ? ['STARTTLS'] : [],
    // On a STARTTLS listener AUTH waits for TLS, and is not even offered before it (onConnect,
    // onSecure); "none" is loopback-only unless explicitly allowed.
    allowInsecureAuth: plain,
    authMethods: ['PLAIN', 'LOGIN'],
    // MAIL before AUTH is refused in onMailFrom, with the RFC 4954 reply text.
    authOptional: true,
    // No DNS on the accept path: bursts must not wait for reverse lookups.
    disableReverseLookup: true,
    // smtp-server writes "220 <host> ESMTP " before it.
    banner: 'o365-mail-proxy ready',
    logger: false,
    // A silent client is told 421 and closed; smtp-server does not count time it waits for us.
    socketTimeout: config.clients.idleTimeoutMs,
    // No closeTimeout: shutdown is SmtpShutdown's, smtp-server's close() is never called.
    onConnect: hooks.onConnect,
    onSecure: hooks.onSecure,
    onAuth: hooks.onAuth,
    onMailFrom: hooks.onMailFrom,
    onRcptTo: hooks.onRcptTo,
    onData: hooks.onData,
    onClose: hooks.onClose,
  });
  const shutdown = hooks.attach(server);
  return Object.assign(server, { stopListening: () => shutdown.stopListening() });
}

/** smtp-server's hooks: each step of a client's session, relayed upstream as it happens. */
class SmtpHooks {
  readonly #relays = new Map<string, RelaySession>();
  readonly #registry: SessionRegistrar;
  readonly #clientSockets: ClientSockets;
  /** A STARTTLS listener: before TLS, AUTH is neither offered nor taken. */
  readonly #tlsFirst: boolean;
  #shutdown!: SmtpShutdown;

  constructor(registry: SessionRegistrar, clientSockets: ClientSockets, tlsFirst: boolean) {
    this.#registry = registry;
    this.#clientSockets = clientSockets;
    this.#tlsFirst = tlsFirst;
  }

  attach(server: SMTPServer): SmtpShutdown {
    this.#shutdown = new SmtpShutdown(server, this.#relays);
    return this.#shutdown;
  }

  readonly onConnect = (session: SMTPServerSession, callback: Callback): void => {
    // A TLS handshake that was under way when the shutdown began.
    if (this.#shutdown.stopping) return callback(asError(GOODBYE));
    // RFC 4954 section 4 / RFC 3207: a client that sees AUTH in the EHLO before STARTTLS tries
    // it, gets 538 and reports only "login denied". Without it, a client that wants to log in
    // knows to start TLS (and one that does not hears 530 "Must issue a STARTTLS command first").
    if (this.#tlsFirst && !session.secure) session.disabledCommands = ['AUTH'];
    const client = { address: session.remoteAddress, port: session.remotePort };
    const accepted = this.#clientSockets.take(session.id);
    const socket = accepted?.socket;
    this.#registry.open('smtp', client, (opened) => {
      this.#relays.set(session.id, { ...opened, clientAddress: client.address, started: Date.now(), left: new AbortController(), socket, release: accepted?.release, transactionOpen: false, busy: false, failedLogins: 0, messages: 0 });
      opened.log.info({ event: 'connect', tls: session.secure }, 'client connected');
      return this.#shutdown.control(session.id);
    }, () => socket?.destroy());
    callback();
  };

  readonly onSecure = (_socket: unknown, session: SMTPServerSession, callback: Callback): void => {
    delete session.disabledCommands;
    callback();
  };

  readonly onAuth = (auth: SMTPServerAuthentication, session: SMTPServerSession, callback: (error: Error | null, response?: { user: string }) => void): void => {
    const relay = this.#relayOf(session);
    if (relay.account) return callback(asError(SmtpAnswers.alreadyAuthenticated));
    const credentials = { username: auth.username ?? '', password: new Secret(auth.password ?? '') };
    this.#whileBusy(session, () => logIn(relay, credentials)).then((result) => {
      if (result === 'client-left') return;
      if (result === 'ok') return callback(null, { user: relay.account!.username });
      callback(asError(result));
    }, (error: Error) => callback(asError(SmtpAnswers.loginFailed(error))));
  };

  readonly onMailFrom = (address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void => {
    const relay = this.#relayOf(session);
    if (!relay.account) return callback(asError(this.#tlsFirst && !session.secure ? SmtpAnswers.starttlsFirst : SmtpAnswers.authenticationRequired));
    if (this.#shutdown.stopping) return callback(asError(GOODBYE));
    if (relay.graph) return answered(callback)(graphMailFrom(relay, relay.graph, address));
    this.#whileBusy(session, () => relayStep(relay, async (upstream) => {
      if (relay.transactionOpen) {
        relay.transactionOpen = false;
        await upstream.command('RSET');
      }
      const answer = await upstream.command(`MAIL FROM:<${address.address}>${params(address)}`);
      relay.transactionOpen = answer.code < 300;
      if (answer.code >= 400) logRefusal(relay, 'smtp.message-refused', 'MAIL', answer, address.address);
      return answer;
    }, true)).then(answered(callback), callback);
  };

  readonly onRcptTo = (address: SMTPServerAddress, session: SMTPServerSession, callback: Callback): void => {
    const relay = this.#relayOf(session);
    if (relay.graph) return answered(callback)(graphRcptTo(relay.graph, address));
    this.#whileBusy(session, () => relayStep(relay, async (upstream) => {
      const answer = await upstream.command(`RCPT TO:<${address.address}>${params(address)}`);
      if (answer.code >= 400) logRefusal(relay, 'smtp.recipient-refused', 'RCPT', answer, senderOf(session));
      return answer;
    }, false)).then(answered(callback), callback);
  };

  readonly onData = (stream: SMTPServerDataStream, session: SMTPServerSession, callback: (error: Error | null, message?: string) => void): void => {
    const relay = this.#relayOf(session);
    const graph = relay.graph;
    const step = graph ? () => graphData(relay, graph, stream) : () => relayStep(relay, async (upstream) => {
      const answer = await upstream.data(stream);
      relay.transactionOpen = false;
      if (answer.code < 300) {
        relay.messages++;
        relay.ctx.metrics.messagesSent.add({ path: 'smtp' });
        relay.log.info({ event: 'smtp.message', bytes: stream.byteLength, recipients: session.envelope.rcptTo.length }, 'message accepted upstream');
      } else {
        logRefusal(relay, 'smtp.message-refused', 'DATA', answer, senderOf(session));
      }
      return answer;
    }, false);
    this.#whileBusy(session, step).then(
      (answer) => {
        // smtp-server answers only after the stream ended; make sure it does.
        if (!stream.readableEnded) stream.resume();
        if (answer) return callback(asError(answer));
        callback(null, graph ? '2.0.0 OK: sent through Microsoft Graph' : relay.lastReplyText);
      },
      (error: Error) => callback(error),
    );
  };

  readonly onClose = (session: SMTPServerSession): void => {
    const relay = this.#relays.get(session.id);
    if (!relay) return;
    this.#relays.delete(session.id);
    relay.release?.();
    relay.left.abort();
    void relay.upstream?.quit();
    const bytesFromClient = relay.socket?.bytesRead ?? 0;
    const bytesToClient = relay.socket?.bytesWritten ?? 0;
    relay.ctx.metrics.bytes.add({ protocol: 'smtp', direction: 'up' }, bytesFromClient);
    relay.ctx.metrics.bytes.add({ protocol: 'smtp', direction: 'down' }, bytesToClient);
    relay.log.info({ event: 'close', loggedIn: Boolean(relay.account), messages: relay.messages, bytesFromClient, bytesToClient, durationMs: Date.now() - relay.started }, 'session closed');
    relay.close();
  };

  #relayOf(session: SMTPServerSession): RelaySession {
    return this.#relays.get(session.id)!;
  }

  /** Runs one step with the session marked busy; a shutdown may say goodbye once it is answered. */
  #whileBusy<T>(session: SMTPServerSession, step: () => Promise<T>): Promise<T> {
    const relay = this.#relayOf(session);
    relay.busy = true;
    return step().finally(() => {
      relay.busy = false;
      this.#shutdown.afterStep(session.id);
    });
  }
}

/**
 * Exchange's refusal as the client heard it: code, enhanced code and text (e.g. "550 5.7.60
 * SMTP; Client does not have permissions to send as this sender"), with the sender. Addresses
 * are not secrets; the message content is never logged.
 */
function logRefusal(relay: RelaySession, event: string, step: string, answer: SmtpReply, from: string): void {
  const reply = `${answer.code} ${SmtpAnswers.relayed(answer).text}`;
  relay.log.info({ event, step, code: answer.code, reply, from }, `${step === 'RCPT' ? 'recipient' : 'message'} refused upstream: ${reply}`);
}

function senderOf(session: SMTPServerSession): string {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
}

/** smtp-server's callback for a relayed step: nothing for success (it says 250), else the reply. */
function answered(callback: Callback) {
  return (answer: { code: number; text: string } | undefined) => callback(answer ? asError(answer) : undefined);
}
