import type { Socket } from 'node:net';
import type { AccountConfig } from '../../config/types.js';
import { createSaslServer, SERVER_MECHANISMS, type BasicCredentials } from '../../sasl/index.js';
import { SaslExchange, type ExchangeStep } from '../../sasl/exchange.js';
import { Secret } from '../../secret.js';
import type { AccessToken } from '../../tokens/provider.js';
import { loginImap, type ImapUpstreamSession } from '../../upstream/imap-login.js';
import { LineFront, type LoginFailure } from '../front.js';
import type { SessionEnv } from '../session.js';
import { ImapCommandReader, tokenText, type ImapCommand, type ImapReaderEvent } from './command-reader.js';

const MAX_BAD_COMMANDS = 10;
/** Hidden from clients after login: the login capabilities are spent, and Exchange's
 * IMAP4rev2 is reported buggy, so clients should stay on IMAP4rev1. */
const HIDDEN_AFTER_LOGIN = /^(AUTH=.*|SASL-IR|STARTTLS|LOGINDISABLED|IMAP4rev2)$/i;
/** Commands that need a login first: answered "log in first" rather than "unknown". */
const NEEDS_LOGIN = new Set(['SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'RENAME', 'SUBSCRIBE', 'UNSUBSCRIBE', 'LIST', 'LSUB', 'STATUS', 'APPEND', 'CHECK', 'CLOSE', 'EXPUNGE', 'SEARCH', 'FETCH', 'STORE', 'COPY', 'MOVE', 'UID', 'IDLE', 'NAMESPACE', 'ENABLE', 'UNSELECT', 'GETQUOTAROOT']);

/**
 * The IMAP side a legacy client talks to before login (RFC 3501 non-authenticated state).
 * The proxy answers CAPABILITY, NOOP, ID, STARTTLS and LOGOUT itself, takes the credentials
 * from LOGIN or AUTHENTICATE PLAIN/LOGIN, logs in upstream with XOAUTH2 and then becomes a
 * byte pipe. No upstream connection exists before the local credentials are proven.
 */
export class ImapFront extends LineFront<ImapUpstreamSession> {
  readonly #reader = new ImapCommandReader();
  #badCommands = 0;
  #sasl: { tag: string; exchange: SaslExchange } | undefined;

  constructor(socket: Socket, env: SessionEnv) {
    super(socket, env);
    // Some legacy clients read capabilities only from the greeting.
    this.write(`* OK [CAPABILITY ${this.#capabilities().join(' ')}] o365-mail-proxy IMAP4rev1 ready.`);
  }

  protected goodbye(): string {
    return '* BYE o365-mail-proxy is shutting down.';
  }

  protected tooManyFailuresGoodbye(): string {
    return '* BYE Too many failed logins.';
  }

  protected idleGoodbye(): string {
    return '* BYE Disconnected for inactivity.';
  }

  protected buffer(chunk: Buffer): void {
    this.#reader.push(chunk);
  }

  protected takeBuffered(): Buffer {
    return this.#reader.takeRemaining();
  }

  protected process(): void {
    while (this.readyForCommand) {
      const event = this.state === 'sasl' ? this.#reader.nextLine() : this.#reader.next();
      if (!event) return;
      this.#handle(event);
    }
  }

  #capabilities(): string[] {
    const common = ['IMAP4rev1', 'SASL-IR', 'LITERAL+', 'ID'];
    if (!this.loginAllowed) return [...common, 'STARTTLS', 'LOGINDISABLED'];
    return [...common, ...SERVER_MECHANISMS.map((m) => `AUTH=${m}`)];
  }

  #handle(event: ImapReaderEvent): void {
    switch (event.type) {
      case 'continue':
        return this.write('+ Ready for literal data');
      case 'error':
        if (event.fatal) return this.#bye(event.message);
        return this.#bad(event.tag ?? '*', event.message);
      case 'line':
        return this.#saslStep(this.#sasl!.exchange.respond(event.line.toString('latin1')));
      case 'command':
        return this.#command(event.command);
    }
  }

  #command(command: ImapCommand): void {
    const { tag, name } = command;
    switch (name) {
      case 'CAPABILITY':
        this.write(`* CAPABILITY ${this.#capabilities().join(' ')}`);
        return this.write(`${tag} OK CAPABILITY completed.`);
      case 'NOOP':
        return this.write(`${tag} OK NOOP completed.`);
      case 'ID':
        // RFC 2971: the client says who it is, we say who we are; its arguments need no parsing.
        this.write('* ID ("name" "o365-mail-proxy")');
        return this.write(`${tag} OK ID completed.`);
      case 'LOGOUT':
        this.write('* BYE o365-mail-proxy logging out.');
        this.write(`${tag} OK LOGOUT completed.`);
        return this.finish('LOGOUT', true);
      case 'STARTTLS':
        if (!this.startTlsAvailable) return this.#bad(tag, 'STARTTLS is not available.');
        this.write(`${tag} OK Begin TLS negotiation now.`);
        return this.upgrade();
      case 'LOGIN':
        return this.#login(command);
      case 'AUTHENTICATE':
        return this.#authenticate(command);
      default:
        return this.#bad(tag, NEEDS_LOGIN.has(name) ? 'Log in first.' : 'Unknown command.');
    }
  }

  #bad(tag: string, message: string): void {
    this.write(`${tag} BAD ${message}`);
    if (++this.#badCommands >= MAX_BAD_COMMANDS) this.#bye('Too many invalid commands.');
  }

  #bye(message: string): void {
    this.write(`* BYE ${message}`);
    this.finish(message, true);
  }

  #login({ tag, args }: ImapCommand): void {
    if (!this.loginAllowed) return this.write(`${tag} NO [PRIVACYREQUIRED] Use STARTTLS first.`);
    const [user, pass] = args;
    if (!user || !pass || args.length !== 2 || args.some((a) => a.type === 'atom' && (a.value === '(' || a.value === ')'))) {
      return this.#bad(tag, 'LOGIN expects a username and a password.');
    }
    this.#loggedIn(tag, 'LOGIN', { username: tokenText(user), password: new Secret(tokenText(pass)) });
  }

  #authenticate({ tag, args }: ImapCommand): void {
    if (!this.loginAllowed) return this.write(`${tag} NO [PRIVACYREQUIRED] Use STARTTLS first.`);
    const [mechanism, initialResponse] = args;
    if (!mechanism || args.length > 2 || args.some((a) => a.type !== 'atom')) {
      return this.#bad(tag, 'AUTHENTICATE expects a mechanism and an optional initial response.');
    }
    const server = createSaslServer(tokenText(mechanism));
    if (!server) return this.write(`${tag} NO [CANNOT] Unsupported authentication mechanism.`);
    this.#sasl = { tag, exchange: new SaslExchange(server) };
    this.state = 'sasl';
    this.#saslStep(this.#sasl.exchange.start(initialResponse ? tokenText(initialResponse) : undefined));
  }

  #saslStep(step: ExchangeStep): void {
    const tag = this.#sasl!.tag;
    if (step.kind === 'challenge') return this.write(step.line);
    this.#sasl = undefined;
    this.state = 'command';
    switch (step.kind) {
      case 'done':
        return this.#loggedIn(tag, 'AUTHENTICATE', step.credentials);
      case 'cancelled':
        return this.write(`${tag} BAD AUTHENTICATE cancelled.`);
      case 'malformed':
        return this.#bad(tag, step.message);
    }
  }

  /** One completion for LOGIN and every SASL mechanism. */
  #loggedIn(tag: string, verb: string, credentials: BasicCredentials): void {
    const { ctx } = this.env;
    const upstream = ctx.config.upstream;
    this.authenticate(
      credentials,
      'imap',
      (account: AccountConfig, token: AccessToken) => loginImap(ctx.connector, upstream.imap, account.mailbox, token.token, upstream.loginTimeoutMs),
      (session) => `${tag} OK [CAPABILITY ${session.capabilities.filter((c) => !HIDDEN_AFTER_LOGIN.test(c)).join(' ')}] ${verb} completed.`,
      (failure: LoginFailure) => this.write(`${tag} NO ${imapFailureText(failure)}`),
    );
  }
}

/** RFC 5530 response codes: AUTHENTICATIONFAILED for credentials and setup, UNAVAILABLE for "later". */
function imapFailureText(failure: LoginFailure): string {
  if (failure.kind === 'denied') return '[AUTHENTICATIONFAILED] Authentication failed.';
  return `${failure.kind === 'temporary' ? '[UNAVAILABLE]' : '[AUTHENTICATIONFAILED]'} ${failure.reason}`;
}
