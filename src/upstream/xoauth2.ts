import type { Secret } from '../config/secret.js';
import { decodeBase64 } from '../wire/base64.js';

/** What a server that refused the token said in its error challenge (Gmail style, Dovecot). */
export interface Xoauth2Refusal {
  status?: string;
  schemes?: string;
  scope?: string;
}

/** One step of the client: the line to send (base64, or empty), never logged: it may carry the token. */
export interface Xoauth2Step {
  response: string;
  /** Set when the challenge was the server's error report: the final refusal comes next. */
  refusal?: Xoauth2Refusal;
}

/**
 * The client side of SASL XOAUTH2, pure (no socket): the IMAP, POP3 and SMTP logins upstream
 * (upstream/*-login.ts, smtp-client.ts) drive it the same way.
 *
 *   start()          → base64("user=" mailbox ^A "auth=Bearer " token ^A ^A), as Exchange wants it
 *   next(challenge)  → a challenge after that is the server's error report, base64 JSON such
 *                      as {"status":"401",...}: the answer is an empty line, and the server
 *                      then sends its final refusal (NO, -ERR, 535). The status is kept for
 *                      the log.
 */
export class Xoauth2Client {
  readonly #mailbox: string;
  readonly #token: Secret;

  constructor(mailbox: string, token: Secret) {
    this.#mailbox = mailbox;
    this.#token = token;
  }

  /** The initial response. */
  start(): string {
    return Buffer.from(`user=${this.#mailbox}\x01auth=Bearer ${this.#token.reveal()}\x01\x01`, 'utf8').toString('base64');
  }

  /** Answers a challenge sent after the initial response (base64 text, as on the wire). */
  next(challenge: string): Xoauth2Step {
    return { response: '', refusal: parseRefusal(challenge) ?? {} };
  }
}

/** Decodes the error challenge; tolerant, since it only enriches a log line. */
function parseRefusal(base64: string): Xoauth2Refusal | undefined {
  const raw = decodeBase64(base64.trim());
  if (!raw) return undefined;
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const record = value as Record<string, unknown>;
    const pick = (key: string) => (typeof record[key] === 'string' ? (record[key] as string) : undefined);
    return { status: pick('status'), schemes: pick('schemes'), scope: pick('scope') };
  } catch {
    return undefined;
  }
}

/** " (status 401)" for a refusal that gave one, for error messages. */
export function describeRefusal(refusal: Xoauth2Refusal | undefined): string {
  return refusal?.status ? ` (status ${refusal.status})` : '';
}
