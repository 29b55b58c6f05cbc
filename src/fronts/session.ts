import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerConfig, Protocol } from '../config/types.js';
import type { ProxyContext } from '../auth/context.js';

/** What a protocol front gets for each accepted connection. */
export interface SessionEnv {
  ctx: ProxyContext;
  listener: ListenerConfig;
  /** Local TLS, present when the listener uses STARTTLS or implicit TLS. */
  secureContext?: SecureContext;
  /** Child logger with sid, proto and client bound. */
  log: Logger;
  /** The client's address: the socket's peer, or what a trusted balancer's PROXY header said. */
  clientAddress: string;
  /** Called once when the session is over (for shutdown bookkeeping). */
  onClose?: () => void;
}

/** What the session registry (listen/sessions.ts) asks of a running session when the proxy stops. */
export interface SessionControl {
  /** Say goodbye: now, or right after the step in progress (SMTP). */
  shutdown(): void;
  /** The shutdown grace is over: cut what may be cut (SMTP: never a message Exchange has). */
  abort(): void;
}

/** A session as its front gets it from the registry. */
export interface OpenedSession {
  /** Child logger with sid, proto and client bound. */
  readonly log: Logger;
  /** The context when the session opened: a reload applies to new sessions only. */
  readonly ctx: ProxyContext;
  /** The session is over (idempotent). */
  readonly close: () => void;
}

/** The session registry as a front that registers its own sessions (SMTP) sees it. */
export interface SessionRegistrar {
  /** The context of now (a reload replaces it). */
  readonly context: ProxyContext;
  /**
   * Registers a session and starts it with `start`, which returns how to stop it. A start that
   * throws is logged and the session closed; `onFailure` cleans up its socket.
   */
  open(protocol: Protocol, client: { address: string; port: number }, start: (session: OpenedSession) => SessionControl, onFailure: () => void): void;
}

/**
 * Upgrades a server-side socket to TLS after STARTTLS/STLS. Resolves when the handshake is
 * done; the caller has already dropped every byte that arrived before (plaintext injection).
 */
export function upgradeToTls(socket: Socket, secureContext: SecureContext, timeoutMs = 15_000, started?: (secure: TLSSocket) => void): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new TLSSocket(socket, { isServer: true, secureContext });
    // From here on, whoever must cut the connection destroys `secure`: tearing the TCP socket
    // away under a handshake in progress can bring Node down.
    started?.(secure);
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new Error('TLS handshake timed out'));
    }, timeoutMs);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (error) => {
      clearTimeout(timer);
      secure.destroy();
      reject(error);
    });
    // A client that goes away before sending its hello ends the socket without an 'error'.
    secure.once('close', () => {
      clearTimeout(timer);
      reject(new Error('client disconnected during the TLS handshake'));
    });
  });
}

/** After a goodbye, the client has this long to close before the connection is cut. */
const GOODBYE_GRACE_MS = 2000;
/**
 * Bytes a client may still send after its goodbye (commands it pipelined behind LOGOUT): read
 * and dropped, so that its close is seen at once. Past them, nothing more is read.
 */
const MAX_BYTES_AFTER_GOODBYE = 64 * 1024;

/**
 * Closes a client socket whose reader is gone, after the goodbye was written: nothing it still
 * sends is kept or parsed; a little is read and dropped, so that a polite client's close is
 * seen at once; then reading stops, and a client that ignores our close is cut after a short grace.
 */
export function closeAfterGoodbye(socket: Socket): void {
  let dropped = 0;
  socket.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > MAX_BYTES_AFTER_GOODBYE) socket.pause();
  });
  socket.end();
  socket.resume();
  setTimeout(() => socket.destroy(), GOODBYE_GRACE_MS).unref();
}
