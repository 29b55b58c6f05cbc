import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerConfig } from '../config/types.js';
import type { ProxyContext } from '../context.js';

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

export function newSessionId(): string {
  return randomBytes(6).toString('base64url');
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
