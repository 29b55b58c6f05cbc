import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Secret } from '../config/secret.js';
import { asSealedFile, seal, unseal, SealError, type Opener, type SealedFile } from './sealed-file.js';

/** What a person's sign-in leaves behind: the refresh token and who it belongs to. */
export interface SignIn {
  refreshToken: Secret;
  /** The signed-in user (UPN), as Entra ID named them. */
  user: string;
  /** The scopes Entra ID granted, space-separated. */
  scopes: string;
  /** The app and authority it was made with; a renewal must use the same. */
  clientId: string;
  authority: string;
}

/** The store could not be read: not there, damaged, or not openable with this secret. */
export type ReadFailure = { kind: 'missing' } | { kind: 'damaged'; detail: string } | { kind: 'locked'; detail: string; sealedWith: 'key' | 'password' };

export class SignInStoreError extends Error {
  override readonly name = 'SignInStoreError';
  constructor(readonly failure: ReadFailure) {
    super(failure.kind === 'missing' ? 'no sign-in is stored' : failure.detail);
  }
}

/**
 * One file per delegated account in the token store's folder: the sign-in, sealed (sealed-file.ts).
 * Folder 0700 and files 0600, so other users of the machine cannot even copy the ciphertext.
 * A write goes to a temporary file that is flushed and then renamed over the old one (and the
 * folder flushed), so a crash leaves the old sign-in or the new one, never a torn file.
 */
export class SignInStore {
  constructor(readonly dir: string) {}

  fileOf(account: string): string {
    return join(this.dir, `${account.toLowerCase().replace(/[^a-z0-9._@-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}.signin.json`);
  }

  /** The sealed file as it lies on disk (renewedAt is readable without a secret). */
  readSealed(account: string): SealedFile {
    let text: string;
    try {
      text = readFileSync(this.fileOf(account), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new SignInStoreError({ kind: 'missing' });
      throw new SignInStoreError({ kind: 'damaged', detail: `cannot read ${this.fileOf(account)} (${code})` });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const sealed = asSealedFile(parsed);
    if (!sealed) throw new SignInStoreError({ kind: 'damaged', detail: `${this.fileOf(account)} is not a stored sign-in` });
    return sealed;
  }

  async read(account: string, opener: Opener): Promise<{ signIn: SignIn; renewedAt: Date }> {
    const sealed = this.readSealed(account);
    let plain: string;
    try {
      plain = await unseal(sealed, opener, account);
    } catch (error) {
      if (!(error instanceof SealError)) throw error;
      throw new SignInStoreError({ kind: 'locked', detail: error.message, sealedWith: sealed.sealedWith });
    }
    const raw = JSON.parse(plain) as Omit<SignIn, 'refreshToken'> & { refreshToken: string };
    return { signIn: { ...raw, refreshToken: new Secret(raw.refreshToken) }, renewedAt: new Date(sealed.renewedAt) };
  }

  async write(account: string, signIn: SignIn, opener: Opener, renewedAt = new Date()): Promise<void> {
    const plain = JSON.stringify({ ...signIn, refreshToken: signIn.refreshToken.reveal() });
    const sealed = await seal(plain, opener, account, renewedAt);
    this.#ensureDir();
    this.#replace(this.fileOf(account), `${JSON.stringify(sealed, null, 2)}\n`);
  }

  /** Notes in the clear why the sign-in no longer works (see SealedFile.lastFailure); the sealed part is kept as it is. */
  recordFailure(account: string, failure: { cause: string; aadsts?: string }): void {
    const sealed = this.readSealed(account);
    const lastFailure = { at: new Date().toISOString(), cause: failure.cause, ...(failure.aadsts ? { aadsts: failure.aadsts } : {}) };
    this.#replace(this.fileOf(account), `${JSON.stringify({ ...sealed, lastFailure }, null, 2)}\n`);
  }

  /** Removes the account's sign-in; false when there was none. */
  remove(account: string): boolean {
    try {
      statSync(this.fileOf(account));
    } catch {
      return false;
    }
    rmSync(this.fileOf(account), { force: true });
    this.#syncDir();
    return true;
  }

  #ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // A folder made by someone else (a volume, an older umask) may be wider: narrow it if it is ours.
    try {
      if ((statSync(this.dir).mode & 0o077) !== 0) chmodSync(this.dir, 0o700);
    } catch {
      // not ours to change: the files themselves are still 0600
    }
  }

  #replace(file: string, content: string): void {
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    pauseForCrashTest(temporary);
    renameSync(temporary, file);
    this.#syncDir();
    this.#removeStaleTemporaries(file);
  }

  /** The rename is durable only once the folder's entry is flushed (not possible on Windows). */
  #syncDir(): void {
    if (process.platform === 'win32') return;
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Temporary files of writes that crashed before their rename: never read, safe to drop once
   * old enough that no other process (a `login` next to the running proxy) is still writing one.
   */
  #removeStaleTemporaries(file: string): void {
    const prefix = `${file.slice(this.dir.length + 1)}.`;
    for (const name of readdirSync(this.dir)) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const path = join(this.dir, name);
      try {
        if (Date.now() - statSync(path).mtimeMs > STALE_TEMPORARY_MS) rmSync(path, { force: true });
      } catch {
        // gone already
      }
    }
  }
}

const STALE_TEMPORARY_MS = 60_000;

/**
 * Tests kill the process between the write and the rename: with O365P_TEST_PAUSE_STORE_WRITE
 * set, the process says so on stderr and blocks here (synchronously, as a crash would stop it).
 */
function pauseForCrashTest(temporary: string): void {
  if (!process.env.O365P_TEST_PAUSE_STORE_WRITE) return;
  process.stderr.write(`store write paused before rename: ${temporary}\n`);
  // Blocks the whole process, timers included, until it is killed.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
