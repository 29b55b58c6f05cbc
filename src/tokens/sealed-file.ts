import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import type { Secret } from '../config/secret.js';

/**
 * The encryption of one stored sign-in: AES-256-GCM, under either the token store's key or a
 * key derived with scrypt from the account's local password (salt and cost in the file). The
 * account's name is authenticated with the data, so a file copied to another account's name
 * does not open. Only `renewedAt` is in the clear: `accounts` shows it without any secret.
 */
export interface SealedFile {
  format: 'o365-mail-proxy sign-in';
  version: 1;
  /** Which secret opens it. */
  sealedWith: 'key' | 'password';
  /** scrypt's salt and cost, for sealedWith "password". */
  kdf?: { salt: string; ln: number; r: number; p: number };
  iv: string;
  tag: string;
  data: string;
  /** When the sign-in was made or last renewed (ISO 8601). */
  renewedAt: string;
  /**
   * Why the proxy's last renewal failed, when it failed for good (no secret in it: an AADSTS
   * code and Entra's description). Lets `doctor` and `accounts` say so without the password.
   */
  lastFailure?: { at: string; cause: string; aadsts?: string };
}

/** What opens a sealed file: the store's 32-byte key, or the account's local password. */
export type Opener = { key: Secret } | { password: Secret };

/** The file does not open with the secret given (wrong key or password, or tampered with). */
export class SealError extends Error {
  override readonly name = 'SealError';
}

/** scrypt at the cost of a passwordHash (about 100 ms): each guess at a stolen file costs that much. */
const KDF = { ln: 15, r: 8, p: 1 };

export async function seal(plaintext: string, opener: Opener, account: string, renewedAt: Date, kdf = KDF): Promise<SealedFile> {
  const salt = randomBytes(16);
  const key = 'key' in opener ? Buffer.from(opener.key.reveal(), 'base64') : await deriveKey(opener.password, salt, kdf);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(account, 'key' in opener ? 'key' : 'password'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    format: 'o365-mail-proxy sign-in',
    version: 1,
    sealedWith: 'key' in opener ? 'key' : 'password',
    ...('password' in opener ? { kdf: { salt: salt.toString('base64'), ...kdf } } : {}),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
    renewedAt: renewedAt.toISOString(),
  };
}

/** The plaintext; throws SealError when the secret is the wrong kind or does not open it. */
export async function unseal(file: SealedFile, opener: Opener, account: string): Promise<string> {
  const kind = 'key' in opener ? 'key' : 'password';
  if (file.sealedWith !== kind) throw new SealError(`it was encrypted with the ${file.sealedWith === 'key' ? 'token store key' : 'account\'s local password'}`);
  let key: Buffer;
  if ('key' in opener) key = Buffer.from(opener.key.reveal(), 'base64');
  else if (file.kdf) key = await deriveKey(opener.password, Buffer.from(file.kdf.salt, 'base64'), file.kdf);
  else throw new SealError('it has no key derivation parameters');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(file.iv, 'base64'));
    decipher.setAAD(associatedData(account, kind));
    decipher.setAuthTag(Buffer.from(file.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(file.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new SealError(kind === 'key' ? 'the token store key does not open it' : 'the password does not open it');
  }
}

/** A parsed file's shape, checked; undefined when it is not a sealed sign-in. */
export function asSealedFile(value: unknown): SealedFile | undefined {
  const f = value as Partial<SealedFile> | null;
  if (!f || typeof f !== 'object' || f.format !== 'o365-mail-proxy sign-in' || f.version !== 1) return undefined;
  if (f.sealedWith !== 'key' && f.sealedWith !== 'password') return undefined;
  const texts = [f.iv, f.tag, f.data, f.renewedAt].every((t) => typeof t === 'string');
  const kdf = f.sealedWith === 'key' || (f.kdf && typeof f.kdf.salt === 'string' && [f.kdf.ln, f.kdf.r, f.kdf.p].every(Number.isInteger) && f.kdf.ln >= 10 && f.kdf.ln <= 22);
  return texts && kdf ? (f as SealedFile) : undefined;
}

function associatedData(account: string, kind: string): Buffer {
  return Buffer.from(`o365-mail-proxy sign-in\0${account.toLowerCase()}\0${kind}`, 'utf8');
}

function deriveKey(password: Secret, salt: Buffer, { ln, r, p }: { ln: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** ln;
  return new Promise((resolve, reject) => {
    scrypt(password.reveal().normalize('NFC'), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
