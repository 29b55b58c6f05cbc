import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { AccountConfig } from '../../config/types.js';
import { login } from '../../login.js';
import { splice } from '../../pipe.js';
import { createSaslServer, SERVER_MECHANISMS, type BasicCredentials } from '../../sasl/index.js';
import { SaslExchange } from '../../sasl/exchange.js';
import { Secret } from '../../secret.js';
import { loginImap, type ImapUpstreamSession } from '../../upstream/imap-login.js';
import { upgradeToTls, type SessionEnv } from '../session.js';
import { ImapCommandReader, tokenText, type ImapCommand, type ImapReaderEvent } from './command-reader.js';

const MAX_BAD_COMMANDS = 10;
/** Capabilities hidden from clients after login: the login ones are spent, and Exchange's
 * IMAP4rev2 is reported buggy, so clients should stay on IMAP4rev1. */
const HIDDEN_AFTER_LOGIN = /^(AUTH=.*|SASL-IR|STARTTLS|LOGINDISABLED|IMAP4rev2)$/i;
/** Commands that need a login first: answered "log in first" rather than "unknown". */
const NEEDS_LOGIN = new Set(['SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'RENAME', 'SUBSCRIBE', 'UNSUBSCRIBE', 'LIST', 'LSUB', 'STATUS', 'APPEND', 'CHECK', 'CLOSE', 'EXPUNGE', 'SEARCH', 'FETCH', 'STORE', 'COPY', 'MOVE', 'UID', 'IDLE', 'NAMESPACE', 'ENABLE', 'UNSELECT', 'GETQUOTAROOT']);

type State = 'command' | 'sasl' | 'busy' | 'done';

/**
 * The IMAP side a legacy client talks to before login (RFC 3501 non-authenticated state).
 * The proxy answers CAPABILITY, NOOP, ID, STARTTLS and LOGOUT itself, takes the credentials
 * from LOGIN or AUTHENTICATE PLAIN/LOGIN, logs in upstream with XOAUTH2 and then becomes a
 * byte pipe. No upstream connection exists before the local credentials are proven.
 */
export class ImapFront {
  #socket: Socket;
  readonly #env: SessionEnv;
  readonly #reader = new ImapCommandReader();
  readonly #started = Date.now();
  #state: State = 'command';
  #badCommands = 0;
  #sasl: { tag: string; exchange: SaslExchange } | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.#reader.push(chunk);
    this.#process();
  };

  constructor(socket: Socket, env: SessionEnv) {
    this.#socket = socket;
    this.#env = env;
    this.#attach(socket);
    env.log.info({ event: 'connect', tls: this.#isTls }, 'client connected');
    this.#write(`* OK [CAPABILITY ${this.#capabilities().join(' ')}] o365-mail-proxy IMAP4rev1 ready.`);
  }

  get #isTls(): boolean {
    return this.#socket instanceof TLSSocket;
  }

  #attach(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('error', (error) => this.#env.log.debug({ event: 'client.error', code: (error as NodeJS.ErrnoException).code }, 'client connection error'));
    socket.once('close', this.#onClose);
  }

  #detach(socket: Socket): void {
    socket.off('data', this.#onData);
    socket.off('close', this.#onClose);
    socket.removeAllListeners('error');
  }

  readonly #onClose = () => {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#env.log.info({ event: 'close', loggedIn: false, durationMs: Date.now() - this.#started }, 'client disconnected before login');
    this.#env.onClose?.();
  };

  #capabilities(): string[] {
    const caps = ['IMAP4rev1', 'SASL-IR', 'LITERAL+', 'ID'];
    const starttls = this.#env.listener.tls === 'starttls' && !this.#isTls;
    if (starttls) return [...caps, 'STARTTLS', 'LOGINDISABLED'];
    return [...caps, ...SERVER_MECHANISMS.map((m) => `AUTH=${m}`)];
  }

  /** Logins are refused on a STARTTLS listener until TLS is up: passwords never go in clear. */
  get #loginAllowed(): boolean {
    return !(this.#env.listener.tls === 'starttls' && !this.#isTls);
  }

  #write(line: string): void {
    if (!this.#socket.destroyed) this.#socket.write(`${line}\r\n`);
  }

  #process(): void {
    while (this.#state === 'command' || this.#state === 'sasl') {
      const event = this.#state === 'sasl' ? this.#reader.nextLine() : this.#reader.next();
      if (!event) return;
      this.#handle(event);
    }
  }

  #handle(event: ImapReaderEvent): void {
    switch (event.type) {
      case 'continue':
        this.#write('+ Ready for literal data');
        return;
      case 'error':
        if (event.fatal) return this.#bye(event.message);
        return this.#bad(event.tag ?? '*', event.message);
      case 'line':
        return this.#saslResponse(event.line.toString('latin1'));
      case 'command':
        return this.#command(event.command);
    }
  }

  #command(command: ImapCommand): void {
    const { tag, name } = command;
    switch (name) {
      case 'CAPABILITY':
        this.#write(`* CAPABILITY ${this.#capabilities().join(' ')}`);
        return this.#write(`${tag} OK CAPABILITY completed.`);
      case 'NOOP':
        return this.#write(`${tag} OK NOOP completed.`);
      case 'ID':
        // RFC 2971: the client tells who it is; we answer who we are. Args need no parsing.
        this.#write('* ID ("name" "o365-mail-proxy")');
        return this.#write(`${tag} OK ID completed.`);
      case 'LOGOUT':
        this.#write('* BYE o365-mail-proxy logging out.');
        this.#write(`${tag} OK LOGOUT completed.`);
        this.#socket.end();
        return;
      case 'STARTTLS':
        return this.#startTls(tag);
      case 'LOGIN':
        return this.#login(command);
      case 'AUTHENTICATE':
        return this.#authenticate(command);
      default:
        return this.#bad(tag, NEEDS_LOGIN.has(name) ? 'Log in first.' : 'Unknown command.');
    }
  }

  #bad(tag: string, message: string): void {
    this.#write(`${tag} BAD ${message}`);
    if (++this.#badCommands >= MAX_BAD_COMMANDS) this.#bye('Too many invalid commands.');
  }

  #bye(message: string): void {
    this.#write(`* BYE ${message}`);
    this.#state = 'done';
    this.#socket.end();
    this.#env.log.info({ event: 'close', loggedIn: false, reason: message, durationMs: Date.now() - this.#started }, 'closing client connection');
    this.#env.onClose?.();
  }

  #startTls(tag: string): void {
    if (this.#env.listener.tls !== 'starttls' || this.#isTls || !this.#env.secureContext) {
      return this.#bad(tag, 'STARTTLS is not available.');
    }
    this.#write(`${tag} OK Begin TLS negotiation now.`);
    // Bytes pipelined after STARTTLS were sent in clear text: drop them (RFC 3501 6.2.1, CVE-2011-0411 class).
    this.#reader.reset();
    this.#state = 'busy';
    const raw = this.#socket;
    this.#detach(raw);
    upgradeToTls(raw, this.#env.secureContext).then(
      (secure) => {
        this.#socket = secure;
        this.#attach(secure);
        this.#state = 'command';
        this.#env.log.debug({ event: 'starttls' }, 'client switched to TLS');
      },
      (error: Error) => {
        this.#env.log.info({ event: 'starttls.fail', cause: error.message }, 'client TLS handshake failed');
        raw.destroy();
        this.#onClose();
      },
    );
  }

  #login(command: ImapCommand): void {
    const { tag, args } = command;
    if (!this.#loginAllowed) return this.#write(`${tag} NO [PRIVACYREQUIRED] Use STARTTLS first.`);
    if (args.length !== 2 || args.some((a) => a.type === 'atom' && (a.value === '(' || a.value === ')'))) {
      return this.#bad(tag, 'LOGIN expects a username and a password.');
    }
    const [user, pass] = args as [ImapCommand['args'][0], ImapCommand['args'][0]];
    this.#authenticated(tag, 'LOGIN', { username: tokenText(user), password: new Secret(tokenText(pass)) });
  }

  #authenticate(command: ImapCommand): void {
    const { tag, args } = command;
    if (!this.#loginAllowed) return this.#write(`${tag} NO [PRIVACYREQUIRED] Use STARTTLS first.`);
    if (args.length < 1 || args.length > 2 || args.some((a) => a.type !== 'atom')) {
      return this.#bad(tag, 'AUTHENTICATE expects a mechanism and an optional initial response.');
    }
    const mechanism = tokenText(args[0]!);
    const server = createSaslServer(mechanism);
    if (!server) return this.#write(`${tag} NO [CANNOT] Unsupported authentication mechanism.`);
    this.#sasl = { tag, exchange: new SaslExchange(server) };
    this.#state = 'sasl';
    this.#saslStep(this.#sasl.exchange.start(args[1] ? tokenText(args[1]) : undefined));
  }

  #saslResponse(line: string): void {
    if (this.#sasl) this.#saslStep(this.#sasl.exchange.respond(line));
  }

  #saslStep(step: ReturnType<SaslExchange['start']>): void {
    const tag = this.#sasl!.tag;
    switch (step.kind) {
      case 'challenge':
        return this.#write(step.line);
      case 'done':
        this.#sasl = undefined;
        return this.#authenticated(tag, 'AUTHENTICATE', step.credentials);
      case 'cancelled':
        this.#sasl = undefined;
        this.#state = 'command';
        return this.#write(`${tag} BAD AUTHENTICATE cancelled.`);
      case 'malformed':
        this.#sasl = undefined;
        this.#state = 'command';
        return this.#bad(tag, step.message);
    }
  }

  /** One completion for LOGIN and every SASL mechanism. */
  #authenticated(tag: string, verb: string, credentials: BasicCredentials): void {
    this.#state = 'busy';
    this.#socket.pause();
    const { ctx, log } = this.#env;
    const upstream = ctx.config.upstream;
    login(ctx, credentials, 'imap', log, (account: AccountConfig, token) =>
      loginImap(ctx.connector, upstream.imap, account.mailbox, token.token, upstream.loginTimeoutMs),
    ).then((outcome) => {
      if (this.#socket.destroyed) {
        if (outcome.ok) outcome.upstream.socket.destroy();
        return;
      }
      if (outcome.ok) return this.#pipe(tag, verb, outcome.upstream);
      this.#state = 'command';
      if (outcome.kind === 'denied') this.#write(`${tag} NO [AUTHENTICATIONFAILED] Authentication failed.`);
      else if (outcome.kind === 'temporary') this.#write(`${tag} NO [UNAVAILABLE] ${outcome.reason}`);
      else this.#write(`${tag} NO [AUTHENTICATIONFAILED] ${outcome.reason}`);
      this.#socket.resume();
      this.#process();
    }).catch((error: Error) => {
      log.error({ event: 'session.error', cause: error.message }, 'session failed');
      this.#socket.destroy();
    });
  }

  #pipe(tag: string, verb: string, upstream: ImapUpstreamSession): void {
    this.#state = 'done';
    const capabilities = upstream.capabilities.filter((c) => !HIDDEN_AFTER_LOGIN.test(c));
    this.#write(`${tag} OK [CAPABILITY ${capabilities.join(' ')}] ${verb} completed.`);
    const client = this.#socket;
    this.#detach(client);
    const log = this.#env.log;
    client.on('error', () => {});
    upstream.socket.on('error', (error) => log.info({ event: 'upstream.error', code: (error as NodeJS.ErrnoException).code }, 'upstream connection error'));
    splice(client, upstream.socket, { toUpstream: this.#reader.takeRemaining(), toClient: upstream.pending }, (totals) => {
      log.info({ event: 'close', loggedIn: true, bytesFromClient: totals.up, bytesToClient: totals.down, durationMs: Date.now() - this.#started }, 'session closed');
      this.#env.onClose?.();
    });
  }
}
