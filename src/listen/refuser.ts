import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Protocol } from '../config/types.js';
import { upgradeToTls } from '../fronts/session.js';
import type { LimitReason } from './admission.js';

/**
 * Refusals spoken at once. Each holds its client's socket (and on implicit-TLS listeners a
 * handshake) for a moment; past this, a connection over the limits is cut without a word, so
 * a flood cannot pile up sockets or handshakes. Well inside SPARE_DESCRIPTORS.
 */
export const MAX_REFUSALS_IN_PROGRESS = 16;
/** A refusal's whole life: PROXY header, TLS handshake, the line, the client's own close. */
export const REFUSAL_DEADLINE_MS = 5000;

/** The protocol's own "try again later" line, said instead of the greeting. */
export function tryLaterLine(protocol: Protocol, reason: LimitReason): string {
  const text = reason === 'max-connections-per-address' ? 'Too many connections from your address, try again later.'
    : reason === 'max-connections' ? 'Too many connections, try again later.'
      : 'Server busy, try again later.';
  if (protocol === 'imap') return `* BYE [UNAVAILABLE] ${text}`;
  if (protocol === 'pop3') return `-ERR [SYS/TEMP] ${text}`;
  return `421 4.7.0 ${text}`;
}

/**
 * Says "try later" to connections over the limits and closes them, a bounded number at a time,
 * each within REFUSAL_DEADLINE_MS.
 */
export class Refuser {
  /** Each refused TCP socket, and the socket on top of it (its TLS socket once one exists). */
  readonly #inProgress = new Map<Socket, Socket>();

  /** Takes a place for one more refusal; false when none is free (cut the socket then). */
  claim(socket: Socket): boolean {
    if (this.#inProgress.size >= MAX_REFUSALS_IN_PROGRESS) return false;
    this.#inProgress.set(socket, socket);
    const deadline = setTimeout(() => this.#inProgress.get(socket)?.destroy(), REFUSAL_DEADLINE_MS).unref();
    socket.once('close', () => {
      clearTimeout(deadline);
      this.#inProgress.delete(socket);
    });
    return true;
  }

  /**
   * On a claimed socket: TLS first where the listener speaks it from the first byte, then the
   * line, then the end. What the client still sends is read and dropped, so the line is not
   * lost to a reset; the deadline of `claim` closes the socket if the client does not.
   */
  async refuse(socket: Socket, line: string, tls?: SecureContext): Promise<void> {
    let speaking: Socket = socket;
    if (tls) {
      try {
        speaking = await upgradeToTls(socket, tls, REFUSAL_DEADLINE_MS, (secure) => {
          if (this.#inProgress.has(socket)) this.#inProgress.set(socket, secure);
        });
      } catch {
        socket.destroy();
        return;
      }
      speaking.on('error', () => {});
    }
    speaking.end(`${line}\r\n`);
    speaking.resume();
  }

  /** On shutdown. */
  destroyAll(): void {
    for (const top of this.#inProgress.values()) top.destroy();
  }
}
