import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Secret } from './secret.js';

/**
 * Local passwords are stored as scrypt hashes (RFC 7914):
 *   scrypt:ln=<log2 N>,r=<r>,p=<p>:<salt base64>:<hash base64>
 * The parameters travel with the hash, so they can be raised later without breaking old hashes.
 */
const FORMAT = /^scrypt:ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2}):([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/;
const DEFAULTS = { ln: 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

export function isPasswordHash(text: string): boolean {
  return parse(text) !== undefined;
}

export async function hashPassword(password: Secret, params = DEFAULTS): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password.reveal(), salt, params);
  return `scrypt:ln=${params.ln},r=${params.r},p=${params.p}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

/** The cost parameters a stored hash was made with; undefined for one that is not a hash. */
export function hashParameters(stored: string): { ln: number; r: number; p: number } | undefined {
  const parsed = parse(stored);
  return parsed && { ln: parsed.ln, r: parsed.r, p: parsed.p };
}

/** True when the password matches; constant-time comparison. Runs on libuv's thread pool. */
export async function verifyPassword(password: Secret, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const actual = await derive(password.reveal(), parsed.salt, parsed);
  // scrypt keys HMAC with the password, and HMAC pads a short key with zero bytes: "pw" and
  // "pw\0" derive the same hash. No protocol lets a password hold a NUL, so one never matches.
  return actual.length === parsed.hash.length && timingSafeEqual(actual, parsed.hash) && !password.reveal().includes('\0');
}

function parse(text: string) {
  const match = FORMAT.exec(text);
  if (!match) return undefined;
  const [, ln, r, p, salt, hash] = match as unknown as [string, string, string, string, string, string];
  const params = { ln: Number(ln), r: Number(r), p: Number(p) };
  if (params.ln < 10 || params.ln > 22 || params.r < 1 || params.p < 1) return undefined;
  return { ...params, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

function derive(password: string, salt: Buffer, { ln, r, p }: { ln: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** ln;
  // scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is just too small for ln=15.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
