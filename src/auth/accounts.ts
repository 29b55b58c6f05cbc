import { createHmac, randomBytes } from 'node:crypto';
import type { AccountConfig, Protocol } from '../config/types.js';
import type { PasswordCheckQueue } from './password-check-queue.js';
import { hashParameters, hashPassword, verifyPassword } from '../config/password-hash.js';
import type { BasicCredentials } from './sasl/index.js';
import { Secret } from '../config/secret.js';

export type LoginFailureReason = 'unknown-user' | 'wrong-password' | 'protocol-not-allowed' | 'authzid-mismatch' | 'not-utf8';

/**
 * U+FFFD in a username or password means a decoder before us met bytes that were not UTF-8 and
 * replaced them; the original bytes are gone. It happens with smtp-server, which decodes SMTP
 * AUTH payloads as UTF-8, when javax.mail before 1.6 (old Talend jobs) sends a Latin-1 password.
 * IMAP and POP3 credentials are decoded by us and fall back to Latin-1, so they never get here.
 */
const REPLACEMENT_CHARACTER = '\uFFFD';

export type LoginCheck = { ok: true; account: AccountConfig } | { ok: false; reason: LoginFailureReason };

const CACHE_TTL_MS = 15 * 60_000;
const CACHE_MAX_ENTRIES = 10_000;

/**
 * Checks local credentials against the configured accounts. Every login is checked for real,
 * but a legacy job that logs in every minute should not pay ~100 ms of scrypt each time, so
 * successful checks are remembered for a while. The cache key is an HMAC (under a key that
 * lives only in this process) of username, stored hash and password: the password itself is
 * never kept, and changing an account's hash invalidates its entries. Concurrent checks of the
 * same credentials share one scrypt run.
 */
export class AccountDirectory {
  readonly #accounts: ReadonlyMap<string, AccountConfig>;
  readonly #checks: PasswordCheckQueue;
  readonly #cacheKey: Buffer;
  readonly #verified = new Map<string, number>(); // cache key → expiry time
  readonly #inFlight = new Map<string, Promise<boolean>>();
  #dummyHash: Promise<string> | undefined;

  /**
   * `checks` bounds the scrypt runs (see PasswordCheckQueue). `key`: the workers of one
   * instance share theirs, so equal credentials have equal fingerprints on every worker.
   */
  constructor(accounts: ReadonlyMap<string, AccountConfig>, checks: PasswordCheckQueue, key: Buffer = randomBytes(32)) {
    this.#accounts = accounts;
    this.#checks = checks;
    this.#cacheKey = key;
  }

  /** Whether a username is configured (an unknown one may be a password typed in the wrong field). */
  knows(username: string): boolean {
    return this.#accounts.has(username.toLowerCase());
  }

  /**
   * Names a pair of credentials without revealing them: equal credentials, equal fingerprint,
   * within this process only (the key never leaves it).
   */
  fingerprint(credentials: BasicCredentials): string {
    return createHmac('sha256', this.#cacheKey).update(`fingerprint\0${credentials.username.toLowerCase()}\0`).update(credentials.password.reveal()).digest('base64');
  }

  /** A short keyed hash of a username that is not configured, for log lines (see `fingerprint`). */
  hashUsername(username: string): string {
    return createHmac('sha256', this.#cacheKey).update(`username\0${username}`).digest('base64url').slice(0, 10);
  }

  /**
   * Throws PasswordChecksBusyError when the check would have to run scrypt and too many
   * checks wait already (`clientAddress` takes its turn among the others).
   */
  async check(credentials: BasicCredentials, protocol: Protocol, clientAddress = ''): Promise<LoginCheck> {
    if (credentials.username.includes(REPLACEMENT_CHARACTER) || credentials.password.reveal().includes(REPLACEMENT_CHARACTER)) {
      return { ok: false, reason: 'not-utf8' };
    }
    const account = this.#accounts.get(credentials.username.toLowerCase());
    if (!account) {
      // Spend the same time as a real check, so response timing does not reveal valid usernames:
      // the same scrypt cost as the accounts' own hashes, not the default one.
      this.#dummyHash ??= hashPassword(new Secret(randomBytes(16).toString('hex')), this.#costliestParameters());
      const dummyHash = await this.#dummyHash;
      await this.#checks.run(clientAddress, () => verifyPassword(credentials.password, dummyHash));
      return { ok: false, reason: 'unknown-user' };
    }
    if (!(await this.#passwordMatches(account, credentials.password, clientAddress))) return { ok: false, reason: 'wrong-password' };
    if (!account.protocols.includes(protocol)) return { ok: false, reason: 'protocol-not-allowed' };
    const authzid = credentials.authzid?.toLowerCase();
    if (authzid !== undefined && authzid !== account.mailbox.toLowerCase() && authzid !== account.username.toLowerCase()) {
      return { ok: false, reason: 'authzid-mismatch' };
    }
    return { ok: true, account };
  }

  #costliestParameters(): { ln: number; r: number; p: number } | undefined {
    const all = [...this.#accounts.values()].map((a) => hashParameters(a.passwordHash)).filter((p) => p !== undefined);
    return all.sort((a, b) => 2 ** b.ln * b.r * b.p - 2 ** a.ln * a.r * a.p)[0];
  }

  async #passwordMatches(account: AccountConfig, password: Secret, clientAddress: string): Promise<boolean> {
    const key = createHmac('sha256', this.#cacheKey)
      .update(`${account.username}\0${account.passwordHash}\0`)
      .update(password.reveal())
      .digest('base64');
    const expiry = this.#verified.get(key);
    if (expiry !== undefined && expiry > Date.now()) return true;

    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#checks.run(clientAddress, () => verifyPassword(password, account.passwordHash)).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    const matches = await pending;
    if (matches) this.#remember(key);
    return matches;
  }

  #remember(key: string): void {
    this.#verified.delete(key);
    if (this.#verified.size >= CACHE_MAX_ENTRIES) {
      // Map iteration follows insertion order: drop the oldest entry.
      const oldest = this.#verified.keys().next();
      if (!oldest.done) this.#verified.delete(oldest.value);
    }
    this.#verified.set(key, Date.now() + CACHE_TTL_MS);
  }
}
