import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { AccountConfig, Protocol } from '../config/types.js';
import { login, type LoginOutcome } from '../login.js';
import { splice } from '../pipe.js';
import type { BasicCredentials } from '../sasl/index.js';
import type { AccessToken } from '../tokens/provider.js';
import type { UpstreamSession } from '../upstream/session.js';
import { upgradeToTls, type SessionEnv } from './session.js';

export type FrontState = 'command' | 'sasl' | 'busy' | 'done';

/**
 * Answers a client has not read yet, past which it is not read either: a client that pipelines
 * commands and never reads the answers would otherwise make the proxy buffer them all.
 */
const MAX_UNREAD_ANSWER_BYTES = 64 * 1024;
/** After a goodbye, the client has this long to close before the connection is cut. */
const GOODBYE_GRACE_MS = 2000;
/**
 * Bytes a client may still send after its goodbye (commands it pipelined behind LOGOUT): read
 * and dropped, so that its close is seen at once. Past them, nothing more is read.
 */
const MAX_BYTES_AFTER_GOODBYE = 64 * 1024;
export type LoginFailure = Exclude<LoginOutcome<never>, { ok: true }>;

/**
 * What the IMAP and POP3 fronts share: the client socket (which STARTTLS may replace), the
 * session state, the login call and the hand-over to the byte pipe. Subclasses parse their
 * protocol and word the answers.
 */
export abstract class LineFront<U extends UpstreamSession> {
  protected socket: Socket;
  protected readonly env: SessionEnv;
  protected state: FrontState = 'command';
  readonly #started = Date.now();
  #piped: { client: Socket; upstream: Socket } | undefined;
  /** Logins on this connection that were refused (wrong password, unknown user, lockout). */
  #failedLogins = 0;
  readonly #onData = (chunk: Buffer) => {
    this.buffer(chunk);
    this.process();
    this.#flowControl();
  };
  readonly #onDrain = () => {
    this.process();
    this.#flowControl();
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
    this.write(this.idleGoodbye());
    this.finish('idle', true);
  };

  constructor(socket: Socket, env: SessionEnv) {
    this.socket = socket;
    this.env = env;
    this.#attach(socket);
    env.log.info({ event: 'connect', tls: this.isTls }, 'client connected');
  }

  /** A line the protocol allows to send unasked before closing (IMAP's BYE), if any. */
  protected abstract goodbye(): string | undefined;
  /** The last line after too many failed logins on one connection, if the protocol has one. */
  protected abstract tooManyFailuresGoodbye(): string | undefined;
  /** The last line to a client that stayed silent too long before login. */
  protected abstract idleGoodbye(): string;

  /**
   * Ends the session because the proxy stops. After login the upstream is unpiped first, so
   * the goodbye does not land inside a server response that is still streaming.
   */
  shutdown(): void {
    const bye = this.goodbye();
    if (this.#piped) {
      const { client, upstream } = this.#piped;
      upstream.unpipe(client);
      // Once the goodbye is out, the upstream goes too (and with it, the pipe's bookkeeping).
      client.end(bye ? `${bye}\r\n` : '', () => upstream.destroy());
      return;
    }
    if (this.state === 'done') return;
    if (bye) this.write(bye);
    this.finish('proxy shutting down', true);
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

  /** Ends a session that never reached the pipe. */
  protected finish(reason: string, closeSocket = false): void {
    this.state = 'done';
    if (closeSocket) this.#closeAfterGoodbye();
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
    upgradeToTls(raw, this.env.secureContext!).then(
      (secure) => {
        this.socket = secure;
        this.#attach(secure);
        this.state = 'command';
        this.env.log.debug({ event: 'starttls' }, 'client switched to TLS');
      },
      (error: Error) => {
        this.env.log.info({ event: 'starttls.fail', cause: error.message }, 'client TLS handshake failed');
        raw.destroy();
        this.finish('TLS handshake failed');
      },
    );
  }

  /**
   * Logs in (local check, token, upstream) with the client paused; on success writes `okLine`
   * and pipes, on failure lets the subclass answer and goes on reading commands.
   */
  protected authenticate(
    credentials: BasicCredentials,
    protocol: Protocol,
    openUpstream: (account: AccountConfig, token: AccessToken) => Promise<U>,
    okLine: (upstream: U) => string,
    failed: (failure: LoginFailure) => void,
  ): void {
    this.state = 'busy';
    this.socket.pause();
    const { ctx, log } = this.env;
    // A login waiting for a free upstream session gives up when the client leaves.
    const clientLeft = new AbortController();
    const onLeave = () => clientLeft.abort();
    this.socket.once('close', onLeave);
    const attempt = { credentials, protocol, clientAddress: this.env.clientAddress, previousFailures: this.#failedLogins, signal: clientLeft.signal };
    login(ctx, attempt, log, openUpstream).then((outcome) => {
      this.socket.off('close', onLeave);
      if (this.socket.destroyed || this.state === 'done') {
        if (outcome.ok) outcome.upstream.socket.destroy();
        return;
      }
      if (outcome.ok) return this.#pipe(outcome.upstream, okLine(outcome.upstream));
      this.state = 'command';
      failed(outcome);
      if (outcome.kind === 'denied' && ++this.#failedLogins >= ctx.config.clients.maxLoginAttemptsPerConnection) {
        const bye = this.tooManyFailuresGoodbye();
        if (bye) this.write(bye);
        return this.finish('too many failed logins', true);
      }
      this.process();
      this.#flowControl();
    }).catch((error: Error) => {
      log.error({ event: 'session.error', cause: error.message }, 'session failed');
      this.socket.destroy();
    });
  }

  /**
   * Nothing a client sends after its goodbye is kept or parsed: a little is read and dropped,
   * so that a polite client's close is seen at once; then reading stops, and a client that
   * ignores our close is cut after a short grace.
   */
  #closeAfterGoodbye(): void {
    const socket = this.socket;
    socket.off('data', this.#onData);
    let dropped = 0;
    socket.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > MAX_BYTES_AFTER_GOODBYE) socket.pause();
    });
    this.takeBuffered();
    socket.end();
    socket.resume();
    setTimeout(() => socket.destroy(), GOODBYE_GRACE_MS).unref();
  }

  /**
   * Reads from the client only while its commands can be handled: paused during a login and
   * while answers pile up unread; resumed (and the buffered commands handled) on drain.
   */
  #flowControl(): void {
    const socket = this.socket;
    if (this.state === 'done' || socket.destroyed) return;
    if (this.state === 'busy') return void socket.pause();
    if (socket.writableLength > MAX_UNREAD_ANSWER_BYTES) {
      socket.pause();
      socket.once('drain', this.#onDrain);
      return;
    }
    socket.resume();
  }

  #pipe(upstream: U, okLine: string): void {
    this.state = 'done';
    this.write(okLine);
    const client = this.socket;
    this.#detach(client);
    this.#piped = { client, upstream: upstream.socket };
    const log = this.env.log;
    client.on('error', (error) => log.debug({ event: 'client.error', code: (error as NodeJS.ErrnoException).code }, 'client connection error'));
    upstream.socket.on('error', (error) => log.info({ event: 'upstream.error', code: (error as NodeJS.ErrnoException).code }, 'upstream connection error'));
    splice(client, upstream.socket, { toUpstream: this.takeBuffered(), toClient: upstream.pending }, (totals) => {
      const protocol = this.env.listener.protocol;
      this.env.ctx.metrics.bytes.add({ protocol, direction: 'up' }, totals.up);
      this.env.ctx.metrics.bytes.add({ protocol, direction: 'down' }, totals.down);
      log.info({ event: 'close', loggedIn: true, bytesFromClient: totals.up, bytesToClient: totals.down, durationMs: Date.now() - this.#started }, 'session closed');
      this.env.onClose?.();
    });
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
