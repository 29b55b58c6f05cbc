// Random identifiers in the shapes Microsoft uses, so what the sandbox hands out looks like
// what a newcomer will later copy from the Entra admin center.
import { randomBytes, randomUUID } from 'node:crypto';

export const randomGuid = (): string => randomUUID();

/** Entra client secrets are 40 characters with a 3-character prefix and a "~" at position 4. */
export function randomClientSecret(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.';
  const bytes = randomBytes(37);
  let body = '';
  for (const byte of bytes) body += alphabet[byte % alphabet.length];
  return `${body.slice(0, 3)}8Q~${body.slice(3, 37)}`;
}
