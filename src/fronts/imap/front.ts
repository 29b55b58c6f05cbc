import type { Socket } from 'node:net';
import { createSaslServer, SERVER_MECHANISMS, type BasicCredentials } from '../../auth/sasl/index.js';
import { SaslExchange, type ExchangeStep } from '../../auth/sasl/exchange.js';
import { Secret } from '../../config/secret.js';
import { loginImap, type ImapUpstreamSession } from '../../upstream/imap-login.js';
import { LineFront } from '../line-front.js';
import type { SessionEnv } from '../session.js';
import { ImapCommandReader, tokenText, type ImapCommand, type ImapReaderEvent } from './command-reader.js';
import { ImapAnswer, ImapProblem, IMAP_REPLIES, type ImapOk } from './replies.js';

const MAX_BAD_COMMANDS = 10;
/** Commands that need a login first: answered "log in first" rather than "unknown". */
const NEEDS_LOGIN = new Set(['SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'RENAME', 'SUBSCRIBE', 'UNSUBSCRIBE', 'LIST', 'LSUB', 'STATUS', 'APPEND', 'CHECK', 'CLOSE', 'EXPUNGE', 'SEARCH', 'FETCH', 'STORE', 'COPY', 'MOVE', 'UID', 'IDLE', 'NAMESPACE', 'ENABLE', 'UNSELECT', 'GETQUOTAROOT']);

/** The command a login answers: its tag and name (LOGIN or AUTHENTICATE). */
type LoginCommand = Pick<ImapCommand, 'tag' | 'name'>;

/**
 * The IMAP side a legacy client talks to before login (RFC 3501 non-authenticated state).
 * The proxy answers CAPABILITY, NOOP, ID, STARTTLS and LOGOUT itself, takes the credentials
 * from LOGIN or AUTHENTICATE PLAIN/LOGIN, logs in upstream with XOAUTH2 and then becomes a
 * byte pipe. No upstream connection exists before the local credentials are proven.
 */
export class ImapFront extends LineFront<ImapUpstreamSession, ImapOk> {
  readonly #reader = new ImapCommandReader();
  #badCommands = 0;
  #sasl: { command: LoginCommand; exchange: SaslExchange } | undefined;

  constructor(socket: Socket, env: SessionEnv) {
    super(socket, env, { replies: IMAP_REPLIES, upstream: loginImap });
    // Some legacy clients read capabilities only from the greeting.
    this.write(ImapAnswer.greeting(this.#capabilities()));
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
        return this.write(ImapAnswer.literal());
      case 'error':
        if (event.fatal) return this.end({ kind: 'unreadable', problem: event.message }, event.message);
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
        return this.write(ImapAnswer.capability(tag, this.#capabilities()));
      case 'NOOP':
        return this.write(ImapAnswer.noop(tag));
      case 'ID':
        // The client's arguments need no parsing.
        return this.write(ImapAnswer.id(tag));
      case 'LOGOUT':
        this.write(ImapAnswer.logout(tag));
        return this.finish('LOGOUT', true);
      case 'STARTTLS':
        if (!this.startTlsAvailable) return this.#bad(tag, ImapProblem.startTlsUnavailable);
        this.write(ImapAnswer.startTls(tag));
        return this.upgrade();
      case 'LOGIN':
        return this.#login(command);
      case 'AUTHENTICATE':
        return this.#authenticate(command);
      default:
        return this.#bad(tag, NEEDS_LOGIN.has(name) ? ImapProblem.logInFirst : ImapProblem.unknown);
    }
  }

  #bad(tag: string, problem: string): void {
    this.write(ImapAnswer.bad(tag, problem));
    if (++this.#badCommands >= MAX_BAD_COMMANDS) this.end({ kind: 'too-many-bad-commands' }, 'Too many invalid commands.');
  }

  #login(command: ImapCommand): void {
    const { tag, args } = command;
    if (!this.loginAllowed) return this.say({ kind: 'starttls-first' }, tag);
    const [user, pass] = args;
    if (!user || !pass || args.length !== 2 || args.some((a) => a.type === 'atom' && (a.value === '(' || a.value === ')'))) {
      return this.#bad(tag, ImapProblem.loginArguments);
    }
    this.#logIn(command, { username: tokenText(user), password: new Secret(tokenText(pass)) }).catch(this.crashed);
  }

  #authenticate(command: ImapCommand): void {
    const { tag, args } = command;
    if (!this.loginAllowed) return this.say({ kind: 'starttls-first' }, tag);
    const [mechanism, initialResponse] = args;
    if (!mechanism || args.length > 2 || args.some((a) => a.type !== 'atom')) return this.#bad(tag, ImapProblem.authenticateArguments);
    const server = createSaslServer(tokenText(mechanism));
    if (!server) return this.write(ImapAnswer.unsupportedMechanism(tag));
    this.#sasl = { command, exchange: new SaslExchange(server) };
    this.state = 'sasl';
    this.#saslStep(this.#sasl.exchange.start(initialResponse ? tokenText(initialResponse) : undefined));
  }

  #saslStep(step: ExchangeStep): void {
    const { command } = this.#sasl!;
    if (step.kind === 'challenge') return this.write(step.line);
    this.#sasl = undefined;
    this.state = 'command';
    switch (step.kind) {
      case 'done':
        return void this.#logIn(command, step.credentials).catch(this.crashed);
      case 'cancelled':
        return this.write(ImapAnswer.cancelled(command.tag));
      case 'malformed':
        return this.#bad(command.tag, step.message);
    }
  }

  /** One completion for LOGIN and every SASL mechanism: log in, answer, pipe. */
  async #logIn(command: LoginCommand, credentials: BasicCredentials): Promise<void> {
    const outcome = await this.login(credentials);
    if (!outcome) return;
    if (!outcome.ok) return this.refused(outcome, command.tag);
    this.say({ kind: 'ok', command: command.name, capabilities: outcome.upstream.capabilities }, command.tag);
    this.pipe(outcome.upstream);
  }
}
