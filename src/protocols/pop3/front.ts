import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { AccountConfig } from '../../config/types.js';
import { login } from '../../login.js';
import { splice } from '../../pipe.js';
import { createSaslServer, SERVER_MECHANISMS, type BasicCredentials } from '../../sasl/index.js';
import { SaslExchange, type ExchangeStep } from '../../sasl/exchange.js';
import { Secret } from '../../secret.js';
import type { UpstreamSession } from '../../upstream/imap-login.js';
import { loginPop3 } from '../../upstream/pop3-login.js';
import { LineBuffer, LineTooLongError } from '../line-buffer.js';
import { upgradeToTls, type SessionEnv } from '../session.js';
import { parsePop3Command, words, type Pop3Command } from './command.js';

const MAX_BAD_COMMANDS = 10;
const TRANSACTION_COMMANDS = new Set(['STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'TOP', 'UIDL']);

type State = 'command' | 'sasl' | 'busy' | 'done';

/**
 * The POP3 AUTHORIZATION state (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH)
 * answered locally; after the upstream XOAUTH2 login the session becomes a byte pipe.
 * Failure answers carry RFC 3206 codes: [AUTH] for credentials and setup, [SYS/TEMP] for
 * "try again later".
 */
export class Pop3Front {
  #socket: Socket;
  readonly #env: SessionEnv;
  readonly #lines = new LineBuffer(8192);
  readonly #started = Date.now();
  #state: State = 'command';
  #badCommands = 0;
  #user: string | undefined;
  #sasl: SaslExchange | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.#lines.push(chunk);
    this.#process();
  };

  constructor(socket: Socket, env: SessionEnv) {
    this.#socket = socket;
    this.#env = env;
    this.#attach(socket);
    env.log.info({ event: 'connect', tls: this.#isTls }, 'client connected');
    this.#write('+OK o365-mail-proxy POP3 ready.');
  }

  get #isTls(): boolean {
    return this.#socket instanceof TLSSocket;
  }

  get #loginAllowed(): boolean {
    return !(this.#env.listener.tls === 'starttls' && !this.#isTls);
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
    this.#finish('client disconnected before login');
  };

  #finish(reason: string): void {
    this.#state = 'done';
    this.#env.log.info({ event: 'close', loggedIn: false, reason, durationMs: Date.now() - this.#started }, 'session closed');
    this.#env.onClose?.();
  }

  #write(text: string): void {
    if (!this.#socket.destroyed) this.#socket.write(`${text}\r\n`);
  }

  #process(): void {
    while (this.#state === 'command' || this.#state === 'sasl') {
      let line: Buffer | undefined;
      try {
        line = this.#lines.nextLine();
      } catch (error) {
        if (!(error instanceof LineTooLongError)) throw error;
        this.#write('-ERR Line too long.');
        this.#socket.end();
        return this.#finish('line too long');
      }
      if (!line) return;
      if (this.#state === 'sasl') this.#saslStep(this.#sasl!.respond(line.toString('latin1')));
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
        this.#write('+OK o365-mail-proxy signing off.');
        this.#socket.end();
        return this.#finish('QUIT');
      case 'STLS':
        return this.#stls();
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
    this.#write(`-ERR ${message}`);
    if (++this.#badCommands >= MAX_BAD_COMMANDS) {
      this.#write('-ERR Too many invalid commands.');
      this.#socket.end();
      this.#finish('too many invalid commands');
    }
  }

  #capa(): void {
    const lines = ['+OK Capability list follows', 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE'];
    if (this.#loginAllowed) lines.push('USER', `SASL ${SERVER_MECHANISMS.join(' ')}`);
    else lines.push('STLS');
    lines.push('IMPLEMENTATION o365-mail-proxy', '.');
    this.#write(lines.join('\r\n'));
  }

  #stls(): void {
    if (this.#env.listener.tls !== 'starttls' || this.#isTls || !this.#env.secureContext) return this.#error('STLS is not available.');
    this.#write('+OK Begin TLS negotiation.');
    // Whatever was pipelined after STLS came in clear text: drop it.
    this.#lines.takeRemaining();
    this.#state = 'busy';
    const raw = this.#socket;
    this.#detach(raw);
    upgradeToTls(raw, this.#env.secureContext).then(
      (secure) => {
        this.#socket = secure;
        this.#attach(secure);
        this.#state = 'command';
      },
      (error: Error) => {
        this.#env.log.info({ event: 'starttls.fail', cause: error.message }, 'client TLS handshake failed');
        raw.destroy();
        this.#finish('TLS handshake failed');
      },
    );
  }

  #userCommand(command: Pop3Command): void {
    if (!this.#loginAllowed) return this.#write('-ERR [AUTH] Use STLS first.');
    const user = command.argument.toString('utf8');
    if (user === '') return this.#error('USER expects a name.');
    this.#user = user;
    this.#write('+OK Send the password.');
  }

  #pass(command: Pop3Command): void {
    if (!this.#loginAllowed) return this.#write('-ERR [AUTH] Use STLS first.');
    const username = this.#user;
    this.#user = undefined;
    if (username === undefined) return this.#error('Send USER first.');
    this.#authenticated({ username, password: new Secret(command.argument.toString('utf8')) });
  }

  #auth(command: Pop3Command): void {
    const [mechanism, initialResponse, ...extra] = words(command.argument);
    if (!mechanism) {
      return this.#write(['+OK Supported mechanisms follow', ...SERVER_MECHANISMS, '.'].join('\r\n'));
    }
    if (!this.#loginAllowed) return this.#write('-ERR [AUTH] Use STLS first.');
    const server = createSaslServer(mechanism);
    if (!server || extra.length > 0) return this.#error('Unsupported authentication mechanism.');
    this.#sasl = new SaslExchange(server);
    this.#state = 'sasl';
    this.#saslStep(this.#sasl.start(initialResponse));
  }

  #saslStep(step: ExchangeStep): void {
    switch (step.kind) {
      case 'challenge':
        return this.#write(step.line);
      case 'done':
        this.#sasl = undefined;
        return this.#authenticated(step.credentials);
      case 'cancelled':
        this.#sasl = undefined;
        this.#state = 'command';
        return this.#write('-ERR Authentication cancelled.');
      case 'malformed':
        this.#sasl = undefined;
        this.#state = 'command';
        return this.#error(step.message);
    }
  }

  #authenticated(credentials: BasicCredentials): void {
    this.#state = 'busy';
    this.#socket.pause();
    const { ctx, log } = this.#env;
    const upstream = ctx.config.upstream;
    login(ctx, credentials, 'pop3', log, (account: AccountConfig, token) =>
      loginPop3(ctx.connector, upstream.pop3, account.mailbox, token.token, upstream.loginTimeoutMs),
    ).then((outcome) => {
      if (this.#socket.destroyed) {
        if (outcome.ok) outcome.upstream.socket.destroy();
        return;
      }
      if (outcome.ok) return this.#pipe(outcome.upstream);
      this.#state = 'command';
      if (outcome.kind === 'denied') this.#write('-ERR [AUTH] Authentication failed.');
      else if (outcome.kind === 'temporary') this.#write(`-ERR [SYS/TEMP] ${outcome.reason}`);
      else this.#write(`-ERR [AUTH] ${outcome.reason}`);
      this.#socket.resume();
      this.#process();
    }).catch((error: Error) => {
      log.error({ event: 'session.error', cause: error.message }, 'session failed');
      this.#socket.destroy();
    });
  }

  #pipe(upstream: UpstreamSession): void {
    this.#state = 'done';
    this.#write('+OK Logged in.');
    const client = this.#socket;
    this.#detach(client);
    const log = this.#env.log;
    client.on('error', () => {});
    upstream.socket.on('error', (error) => log.info({ event: 'upstream.error', code: (error as NodeJS.ErrnoException).code }, 'upstream connection error'));
    splice(client, upstream.socket, { toUpstream: this.#lines.takeRemaining(), toClient: upstream.pending }, (totals) => {
      log.info({ event: 'close', loggedIn: true, bytesFromClient: totals.up, bytesToClient: totals.down, durationMs: Date.now() - this.#started }, 'session closed');
      this.#env.onClose?.();
    });
  }
}
