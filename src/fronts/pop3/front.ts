import type { Socket } from 'node:net';
import { createSaslServer, SERVER_MECHANISMS, type BasicCredentials } from '../../auth/sasl/index.js';
import { SaslExchange, type ExchangeStep } from '../../auth/sasl/exchange.js';
import { decodeCredential } from '../../auth/sasl/text.js';
import { Secret } from '../../config/secret.js';
import type { UpstreamSession } from '../../upstream/session.js';
import { loginPop3 } from '../../upstream/pop3-login.js';
import { LineFront } from '../line-front.js';
import { LineBuffer, LineTooLongError } from '../../wire/line-buffer.js';
import type { SessionEnv } from '../session.js';
import { parsePop3Command, words, type Pop3Command } from './command.js';
import { Pop3Answer, Pop3Problem, POP3_REPLIES } from './replies.js';

const MAX_BAD_COMMANDS = 10;
const TRANSACTION_COMMANDS = new Set(['STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'TOP', 'UIDL']);

/**
 * The POP3 AUTHORIZATION state (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH)
 * answered locally; after the upstream XOAUTH2 login the session becomes a byte pipe.
 */
export class Pop3Front extends LineFront<UpstreamSession> {
  readonly #lines = new LineBuffer(8192);
  #badCommands = 0;
  #user: string | undefined;
  #sasl: SaslExchange | undefined;

  constructor(socket: Socket, env: SessionEnv) {
    super(socket, env, { replies: POP3_REPLIES, upstream: loginPop3 });
    this.write(Pop3Answer.greeting());
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
        return this.end({ kind: 'unreadable', problem: error.message }, 'line too long');
      }
      if (!line) return;
      if (this.state === 'sasl') this.#saslStep(this.#sasl!.respond(line.toString('latin1')));
      else this.#command(line);
    }
  }

  #command(line: Buffer): void {
    const command = parsePop3Command(line);
    if (!command) return this.#error(Pop3Problem.unknown);
    switch (command.name) {
      case 'CAPA':
        return this.write(Pop3Answer.capabilities(this.#capabilities()));
      case 'QUIT':
        this.write(Pop3Answer.quit());
        return this.finish('QUIT', true);
      case 'STLS':
        if (!this.startTlsAvailable) return this.#error(Pop3Problem.startTlsUnavailable);
        this.write(Pop3Answer.startTls());
        return this.upgrade();
      case 'USER':
        return this.#userCommand(command);
      case 'PASS':
        return this.#pass(command);
      case 'AUTH':
        return this.#auth(command);
      case 'APOP':
        return this.#error(Pop3Problem.apop);
      default:
        return this.#error(TRANSACTION_COMMANDS.has(command.name) ? Pop3Problem.logInFirst : Pop3Problem.unknown);
    }
  }

  #error(problem: string): void {
    this.write(Pop3Answer.error(problem));
    if (++this.#badCommands >= MAX_BAD_COMMANDS) this.end({ kind: 'too-many-bad-commands' }, 'too many invalid commands');
  }

  #capabilities(): string[] {
    const login = this.loginAllowed ? ['USER', `SASL ${SERVER_MECHANISMS.join(' ')}`] : ['STLS'];
    return ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', ...login, 'IMPLEMENTATION o365-mail-proxy'];
  }

  #userCommand(command: Pop3Command): void {
    if (!this.loginAllowed) return this.say({ kind: 'starttls-first' });
    const user = decodeCredential(command.argument);
    if (user === '') return this.#error(Pop3Problem.userName);
    this.#user = user;
    this.write(Pop3Answer.sendPassword());
  }

  #pass(command: Pop3Command): void {
    if (!this.loginAllowed) return this.say({ kind: 'starttls-first' });
    const username = this.#user;
    this.#user = undefined;
    if (username === undefined) return this.#error(Pop3Problem.userFirst);
    // PASS takes the rest of the line as is: passwords may contain spaces.
    this.#logIn({ username, password: new Secret(decodeCredential(command.argument)) }).catch(this.crashed);
  }

  #auth(command: Pop3Command): void {
    const [mechanism, initialResponse, ...extra] = words(command.argument);
    if (!mechanism) return this.write(Pop3Answer.mechanisms(SERVER_MECHANISMS));
    if (!this.loginAllowed) return this.say({ kind: 'starttls-first' });
    const server = createSaslServer(mechanism);
    if (!server || extra.length > 0) return this.#error(Pop3Problem.unsupportedMechanism);
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
        return void this.#logIn(step.credentials).catch(this.crashed);
      case 'cancelled':
        return this.write(Pop3Answer.cancelled());
      case 'malformed':
        return this.#error(step.message);
    }
  }

  /** One completion for USER/PASS and every SASL mechanism: log in, answer, pipe. */
  async #logIn(credentials: BasicCredentials): Promise<void> {
    const outcome = await this.login(credentials);
    if (!outcome) return;
    if (!outcome.ok) return this.refused(outcome);
    this.say({ kind: 'ok' });
    this.pipe(outcome.upstream);
  }
}
