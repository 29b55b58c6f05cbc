import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { login, upstreamLogin, type LoginFailure, type LoginOutcome } from '../auth/login.js';
import type { BasicCredentials } from '../auth/sasl/index.js';
import type { OpenUpstream, UpstreamSession } from '../upstream/session.js';
import { pipeSession, type Spliced } from './pipe.js';
import { replyTo, type Outcome, type Replies } from './replies.js';
import { closeAfterGoodbye, upgradeToTls, type SessionEnv } from './session.js';
import { listenerAddress, logClientTlsFailure } from '../ops/tls-failures.js';

export type FrontState = 'command' | 'sasl' | 'busy' | 'done';

/** What a line protocol (IMAP, POP3) brings: its words for every outcome, and its upstream login. */
export interface LineProtocol<U extends UpstreamSession, Ok> {
  replies: Replies<Ok>;
  upstream: OpenUpstream<U>;
}

/**
 * Answers a client has not read yet, past which it is not read either: a client that pipelines
 * commands and never reads the answers would otherwise make the proxy buffer them all.
 */
const MAX_UNREAD_ANSWER_BYTES = 64 * 1024;

/**
 * What the IMAP and POP3 fronts share: the client socket (which STARTTLS may replace), reading
 * with backpressure, the idle timer, goodbyes, and the steps of a login that a front calls in
 * order: `login()` (the client paused), then `refused()` or `pipe()`. Subclasses parse their
 * protocol; their replies.ts words every outcome.
 */
export abstract class LineFront<U extends UpstreamSession, Ok = object> {
  protected socket: Socket;
  protected readonly env: SessionEnv;
  protected state: FrontState = 'command';
  readonly #protocol: LineProtocol<U, Ok>;
  readonly #started = Date.now();
  #piped: { client: Socket; upstream: Socket; spliced: Spliced } | undefined;
  /** Logins on this connection that were refused (wrong password, unknown user, lockout). */
  #failedLogins = 0;
  readonly #onData = (chunk: Buffer) => {
    this.buffer(chunk);
    this.#readOn();
  };
  readonly #onClose = () => {
    if (this.state !== 'done') this.finish('client disconnected before login');
  };
  /** No byte either way for clients.idleTimeoutMs before login (the pipe has no such timer). */
  readonly #onIdle = () => {
    // A login in progress has its own deadlines; the client is waiting for us.
    if (this.state === 'busy') return;
    // Said goodbye one idle period ago and the client still has not closed: cut it.
    if (this.state === 'done') return this.socket.destroy();
    this.end({ kind: 'idle' }, 'idle');
  };

  constructor(socket: Socket, env: SessionEnv, protocol: LineProtocol<U, Ok>) {
    this.socket = socket;
    this.env = env;
    this.#protocol = protocol;
    this.#attach(socket);
    env.log.info({ event: 'connect', tls: this.isTls }, 'client connected');
  }

  /**
   * Ends the session because the proxy stops. After login the upstream is muted first, so
   * the goodbye does not land inside a server response that is still streaming.
   */
  shutdown(): void {
    if (this.#piped) {
      const { client, upstream, spliced } = this.#piped;
      const bye = replyTo(this.#protocol.replies, { kind: 'shutdown' });
      spliced.muteUpstream();
      // Once the goodbye is out, the upstream goes too (and with it, the pipe's bookkeeping).
      client.end(bye ? `${bye}\r\n` : '', () => upstream.destroy());
      return;
    }
    if (this.state !== 'done') this.end({ kind: 'shutdown' }, 'proxy shutting down');
  }

  /** Cuts the session at once (a client that does not take its goodbye in time). */
  abort(): void {
    this.socket.destroy();
    this.#piped?.client.destroy();
    this.#piped?.upstream.destroy();
  }

  /** Adds received bytes to the subclass's parser. */
  protected abstract buffer(chunk: Buffer): void;
  /** Handles buffered commands one by one while `readyForCommand` holds. */
  protected abstract process(): void;
  /** Empties the parser, returning what it held. */
  protected abstract takeBuffered(): Buffer;

  /**
   * Whether the next buffered command may be handled now: not while a login or TLS upgrade is
   * under way, and not while the client leaves too many answers unread.
   */
  protected get readyForCommand(): boolean {
    return (this.state === 'command' || this.state === 'sasl') && this.socket.writableLength <= MAX_UNREAD_ANSWER_BYTES;
  }

  protected get isTls(): boolean {
    return this.socket instanceof TLSSocket;
  }

  /** On a STARTTLS listener, logins wait for TLS: passwords never cross in clear text. */
  protected get loginAllowed(): boolean {
    return !(this.env.listener.tls === 'starttls' && !this.isTls);
  }

  protected get startTlsAvailable(): boolean {
    return this.env.listener.tls === 'starttls' && !this.isTls && this.env.secureContext !== undefined;
  }

  protected write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(`${text}\r\n`);
  }

  /** Writes the protocol's words for `outcome`, if it has any (`tag`: the IMAP command answered). */
  protected say(outcome: Outcome<Ok>, tag?: string): void {
    const line = replyTo(this.#protocol.replies, outcome, tag);
    if (line !== undefined) this.write(line);
  }

  /** Says the protocol's goodbye for `outcome` and closes. */
  protected end(outcome: Outcome<Ok>, reason: string): void {
    this.say(outcome);
    this.finish(reason, true);
  }

  /** Ends a session that never reached the pipe. */
  protected finish(reason: string, closeSocket = false): void {
    this.state = 'done';
    if (closeSocket) {
      this.socket.off('data', this.#onData);
      this.takeBuffered();
      closeAfterGoodbye(this.socket);
    }
    this.env.log.info({ event: 'close', loggedIn: false, reason, durationMs: Date.now() - this.#started }, 'session closed');
    this.env.onClose?.();
  }

  /** Call after writing the protocol's "go ahead"; the TLS handshake follows. */
  protected upgrade(): void {
    // Bytes pipelined behind STARTTLS/STLS came in clear text: drop them (plaintext injection).
    this.takeBuffered();
    this.state = 'busy';
    const raw = this.socket;
    this.#detach(raw);
    // Read now: a socket that failed its handshake no longer knows its port.
    const listener = listenerAddress(this.env.listener.host, raw.localPort);
    upgradeToTls(raw, this.env.secureContext!).then(
      (secure) => {
        this.socket = secure;
        this.#attach(secure);
        this.state = 'command';
        this.env.log.debug({ event: 'starttls' }, 'client switched to TLS');
      },
      (error: Error) => {
        // The session's logger carries the protocol and the client.
        logClientTlsFailure(this.env.log, error, { listener, tls: 'starttls' });
        raw.destroy();
        this.finish('TLS handshake failed');
      },
    );
  }

  /**
   * Logs in (auth/login.ts: local check, token, this protocol's upstream login) with the client
   * paused, so nothing it sends meanwhile is parsed. Undefined when the client left meanwhile
   * (an upstream session that opened all the same is closed).
   */
  protected async login(credentials: BasicCredentials): Promise<LoginOutcome<U> | undefined> {
    this.state = 'busy';
    const socket = this.socket;
    socket.pause();
    const { ctx, log, listener, clientAddress } = this.env;
    // A login waiting for a free upstream session gives up when the client leaves.
    const clientLeft = new AbortController();
    const onLeave = () => clientLeft.abort();
    socket.once('close', onLeave);
    const attempt = { credentials, protocol: listener.protocol, clientAddress, previousFailures: this.#failedLogins, signal: clientLeft.signal };
    const outcome = await login(ctx, attempt, log, upstreamLogin(ctx, this.#protocol.upstream)).finally(() => socket.off('close', onLeave));
    // The state may have changed while the login ran (the client left, the proxy stopped).
    if (!socket.destroyed && !this.#ended) return outcome;
    if (outcome.ok) outcome.upstream.socket.destroy();
    return undefined;
  }

  /** After a refused login: answers it, and closes after too many; otherwise reads on. */
  protected refused(failure: LoginFailure, tag?: string): void {
    this.state = 'command';
    this.say(failure, tag);
    if (failure.kind === 'denied' && ++this.#failedLogins >= this.env.ctx.config.clients.maxLoginAttemptsPerConnection) {
      return this.end({ kind: 'too-many-failures' }, 'too many failed logins');
    }
    this.#readOn();
  }

  /** After the login's OK: from here on, client and upstream are one byte pipe (pipe.ts). */
  protected pipe(upstream: U): void {
    this.state = 'done';
    const client = this.socket;
    this.#detach(client);
    const spliced = pipeSession(this.env, client, upstream, this.takeBuffered(), this.#started);
    this.#piped = { client, upstream: upstream.socket, spliced };
  }

  /** For a login that threw (a bug, not a refusal): the session ends, the proxy goes on. */
  protected readonly crashed = (error: Error): void => {
    this.env.log.error({ event: 'session.error', cause: error.message }, 'session failed');
    this.socket.destroy();
  };

  get #ended(): boolean {
    return this.state === 'done';
  }

  /**
   * Handles what is buffered, then reads from the client only while its commands can be
   * handled: paused during a login and while answers pile up unread; resumed on drain.
   */
  #readOn(): void {
    this.process();
    const socket = this.socket;
    if (this.state === 'done' || socket.destroyed) return;
    if (this.state === 'busy') return void socket.pause();
    if (socket.writableLength > MAX_UNREAD_ANSWER_BYTES) {
      socket.pause();
      socket.once('drain', () => this.#readOn());
      return;
    }
    socket.resume();
  }

  #attach(socket: Socket): void {
    // Over local TLS, Nagle plus delayed ACK would hold small replies ~40 ms.
    socket.setNoDelay(true);
    // Not setTimeout's callback argument: that listener runs once, and #onIdle must run again.
    socket.setTimeout(this.env.ctx.config.clients.idleTimeoutMs);
    socket.on('timeout', this.#onIdle);
    socket.on('data', this.#onData);
    socket.on('error', (error) => this.env.log.debug({ event: 'client.error', code: (error as NodeJS.ErrnoException).code }, 'client connection error'));
    socket.once('close', this.#onClose);
  }

  #detach(socket: Socket): void {
    socket.setTimeout(0);
    socket.off('timeout', this.#onIdle);
    socket.off('data', this.#onData);
    socket.off('close', this.#onClose);
    socket.removeAllListeners('error');
  }
}
