import type { Socket } from 'node:net';
import type { AccountConfig } from '../../config/types.js';
import { createSaslServer, SERVER_MECHANISMS, type BasicCredentials } from '../../sasl/index.js';
import { SaslExchange, type ExchangeStep } from '../../sasl/exchange.js';
import { decodeCredential } from '../../sasl/text.js';
import { Secret } from '../../secret.js';
import type { AccessToken } from '../../tokens/provider.js';
import type { UpstreamSession } from '../../upstream/session.js';
import { loginPop3 } from '../../upstream/pop3-login.js';
import { LineFront, type LoginFailure } from '../front.js';
import { LineBuffer, LineTooLongError } from '../line-buffer.js';
import type { SessionEnv } from '../session.js';
import { parsePop3Command, words, type Pop3Command } from './command.js';

const MAX_BAD_COMMANDS = 10;
const TRANSACTION_COMMANDS = new Set(['STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'TOP', 'UIDL']);

/**
 * The POP3 AUTHORIZATION state (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH)
 * answered locally; after the upstream XOAUTH2 login the session becomes a byte pipe.
 * Failures carry RFC 3206 codes: [AUTH] for credentials and setup, [SYS/TEMP] for "later".
 */
export class Pop3Front extends LineFront<UpstreamSession> {
  readonly #lines = new LineBuffer(8192);
  #badCommands = 0;
  #user: string | undefined;
  #sasl: SaslExchange | undefined;

  constructor(socket: Socket, env: SessionEnv) {
    super(socket, env);
    this.write('+OK o365-mail-proxy POP3 ready.');
  }

  /** POP3 has no unsolicited responses: the connection just closes. */
  protected goodbye(): undefined {
    return undefined;
  }

  /** The -ERR to the last failed login is the last line; the connection closes after it. */
  protected tooManyFailuresGoodbye(): undefined {
    return undefined;
  }

  protected idleGoodbye(): string {
    return '-ERR Disconnected for inactivity.';
  }

  protected buffer(chunk: Buffer): void {
    this.#lines.push(chunk);
  }

  protected takeBuffered(): Buffer {
    return this.#lines.takeRemaining();
  }

  protected process(): void {
    while (this.readyForCommand) {
      let line: Buffer | undefined;
      try {
        line = this.#lines.nextLine();
      } catch (error) {
        if (!(error instanceof LineTooLongError)) throw error;
        this.write('-ERR Line too long.');
        return this.finish('line too long', true);
      }
      if (!line) return;
      if (this.state === 'sasl') this.#saslStep(this.#sasl!.respond(line.toString('latin1')));
      else this.#command(line);
    }
  }

  #command(line: Buffer): void {
    const command = parsePop3Command(line);
    if (!command) return this.#error('Unknown command.');
    switch (command.name) {
      case 'CAPA':
        return this.#capa();
      case 'QUIT':
        this.write('+OK o365-mail-proxy signing off.');
        return this.finish('QUIT', true);
      case 'STLS':
        if (!this.startTlsAvailable) return this.#error('STLS is not available.');
        this.write('+OK Begin TLS negotiation.');
        return this.upgrade();
      case 'USER':
        return this.#userCommand(command);
      case 'PASS':
        return this.#pass(command);
      case 'AUTH':
        return this.#auth(command);
      case 'APOP':
        return this.#error('APOP is not supported; use USER/PASS or AUTH.');
      default:
        return this.#error(TRANSACTION_COMMANDS.has(command.name) ? 'Log in first.' : 'Unknown command.');
    }
  }

  #error(message: string): void {
    this.write(`-ERR ${message}`);
    if (++this.#badCommands >= MAX_BAD_COMMANDS) {
      this.write('-ERR Too many invalid commands.');
      this.finish('too many invalid commands', true);
    }
  }

  #capa(): void {
    const lines = ['+OK Capability list follows', 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE'];
    lines.push(...(this.loginAllowed ? ['USER', `SASL ${SERVER_MECHANISMS.join(' ')}`] : ['STLS']));
    lines.push('IMPLEMENTATION o365-mail-proxy', '.');
    this.write(lines.join('\r\n'));
  }

  #userCommand(command: Pop3Command): void {
    if (!this.loginAllowed) return this.write('-ERR [AUTH] Use STLS first.');
    const user = decodeCredential(command.argument);
    if (user === '') return this.#error('USER expects a name.');
    this.#user = user;
    this.write('+OK Send the password.');
  }

  #pass(command: Pop3Command): void {
    if (!this.loginAllowed) return this.write('-ERR [AUTH] Use STLS first.');
    const username = this.#user;
    this.#user = undefined;
    if (username === undefined) return this.#error('Send USER first.');
    // PASS takes the rest of the line as is: passwords may contain spaces.
    this.#loggedIn({ username, password: new Secret(decodeCredential(command.argument)) });
  }

  #auth(command: Pop3Command): void {
    const [mechanism, initialResponse, ...extra] = words(command.argument);
    if (!mechanism) return this.write(['+OK Supported mechanisms follow', ...SERVER_MECHANISMS, '.'].join('\r\n'));
    if (!this.loginAllowed) return this.write('-ERR [AUTH] Use STLS first.');
    const server = createSaslServer(mechanism);
    if (!server || extra.length > 0) return this.#error('Unsupported authentication mechanism.');
    this.#sasl = new SaslExchange(server);
    this.state = 'sasl';
    this.#saslStep(this.#sasl.start(initialResponse));
  }

  #saslStep(step: ExchangeStep): void {
    if (step.kind === 'challenge') return this.write(step.line);
    this.#sasl = undefined;
    this.state = 'command';
    switch (step.kind) {
      case 'done':
        return this.#loggedIn(step.credentials);
      case 'cancelled':
        return this.write('-ERR Authentication cancelled.');
      case 'malformed':
        return this.#error(step.message);
    }
  }

  #loggedIn(credentials: BasicCredentials): void {
    const { ctx } = this.env;
    const upstream = ctx.config.upstream;
    this.authenticate(
      credentials,
      'pop3',
      (account: AccountConfig, token: AccessToken) => loginPop3(ctx.connector, upstream.pop3, account.mailbox, token.token, upstream.loginTimeoutMs),
      () => '+OK Logged in.',
      (failure: LoginFailure) => this.write(`-ERR ${pop3FailureText(failure)}`),
    );
  }
}

/** RFC 3206 response codes. */
function pop3FailureText(failure: LoginFailure): string {
  if (failure.kind === 'denied') return '[AUTH] Authentication failed.';
  return `${failure.kind === 'temporary' ? '[SYS/TEMP]' : '[AUTH]'} ${failure.reason}`;
}
