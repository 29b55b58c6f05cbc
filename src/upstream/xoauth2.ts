import type { Secret } from '../config/secret.js';
import { decodeBase64 } from '../wire/base64.js';

/**
 * The client side of SASL XOAUTH2 as Exchange Online accepts it:
 * base64("user=" + mailbox + "\x01auth=Bearer " + token + "\x01\x01").
 * The result is itself a secret (it carries the token), so it is returned as a Secret-like
 * string only to the upstream writer.
 */
export function xoauth2InitialResponse(mailbox: string, accessToken: Secret): string {
  return Buffer.from(`user=${mailbox}\x01auth=Bearer ${accessToken.reveal()}\x01\x01`, 'utf8').toString('base64');
}

/** Error details some servers (Gmail style, Dovecot) send as a base64 JSON continuation. */
export interface Xoauth2ErrorChallenge {
  status?: string;
  schemes?: string;
  scope?: string;
}

/** Decodes an XOAUTH2 error continuation; tolerant, since it only enriches a log line. */
export function parseXoauth2ErrorChallenge(base64: string): Xoauth2ErrorChallenge | undefined {
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
