import type { Secret } from '../../config/secret.js';

/** What a client proved it knows: a local username and password (plus an optional authzid). */
export interface BasicCredentials {
  username: string;
  password: Secret;
  /** SASL authorization identity, when the client sent one (PLAIN only). */
  authzid?: string;
}

/**
 * One step of a server-side SASL exchange: either a challenge to send to the client, or the
 * credentials the client supplied. Mechanisms are pure: the protocol fronts do the I/O.
 */
export type SaslStep =
  | { kind: 'challenge'; challenge: Buffer }
  | { kind: 'done'; credentials: BasicCredentials };

/**
 * A server-side SASL mechanism, in the style of go-sasl's `Server.Next`: call `next` with the
 * client's initial response (or `undefined` when it sent none), then with each response.
 * Throws SaslError when the client's data is malformed.
 */
export interface SaslServer {
  next(response: Buffer | undefined): SaslStep;
}

export class SaslError extends Error {
  override readonly name = 'SaslError';
}
