import type { Logger } from 'pino';
import type { AccountConfig, AppConfig } from '../config/types.js';
import type { Secret } from '../config/secret.js';
import { delegatedScopes } from './delegated-scopes.js';
import { TokenError } from './errors.js';
import type { AccessToken } from './msal-source.js';
import { createNetworkClient, type TokenNetworkClient } from './network-client.js';
import { redeemRefreshToken } from './refresh-grant.js';
import { withDeadline, type TokenProviderOptions } from './provider.js';
import { LOG_HINTS } from './setup-advice.js';
import { SignInStore, SignInStoreError, type SignIn } from './signin-store.js';
import type { Opener } from './sealed-file.js';

/** The app-only provider's options (deadline, renewal margin, CA, proxy, log), and the store's key. */
export interface DelegatedOptions extends TokenProviderOptions {
  /** The token store's key; without it the store opens only with the password a client just gave. */
  storeKey?: Secret;
}

/**
 * What is known about a delegated account's sign-in: "stored" until a renewal proves it (with
 * no store key, nothing can be proved before a client logs in), "valid" after one, "missing" or
 * "invalid" when `login <account>` is needed, "unavailable" while Entra ID cannot be reached.
 */
export type SignInStatus =
  | { state: 'stored' | 'valid'; renewedAt?: Date; user?: string }
  | { state: 'missing' | 'invalid' | 'unavailable'; cause: string };

/**
 * A person's sign-in for one delegated account: the access token in memory, renewed from the
 * stored refresh token when needed. Concurrent callers share one renewal (one request). Each
 * renewal stores the rotated refresh token before the new access token is used.
 */
export class DelegatedSignIn {
  #account: AccountConfig;
  readonly #app: AppConfig;
  readonly #store: SignInStore;
  readonly #options: DelegatedOptions;
  readonly #network: TokenNetworkClient;
  readonly #log: Logger;
  #current: (AccessToken & { obtainedAt: number }) | undefined;
  /** The sign-in as last read or renewed: lets a new local password re-seal it (see #open). */
  #signIn: SignIn | undefined;
  #inFlight: Promise<AccessToken> | undefined;
  #status: SignInStatus;
  /** The passwordHash of the password the store was last opened or sealed with (no store key). */
  #sealedUnder: string | undefined;
  #resealing: Promise<void> | undefined;

  constructor(account: AccountConfig, app: AppConfig, store: SignInStore, options: DelegatedOptions) {
    this.#account = account;
    this.#app = app;
    this.#store = store;
    this.#options = options;
    this.#network = createNetworkClient({ timeoutMs: options.requestTimeoutMs, ...(options.ca ? { ca: options.ca } : {}), ...(options.proxy ? { proxy: options.proxy } : {}) });
    this.#log = options.log.child({ user: account.username, mailbox: account.mailbox, app: app.name });
    this.#status = this.#statusOnDisk();
    this.#publish();
  }

  get account(): AccountConfig {
    return this.#account;
  }

  /** A reload with the same app and store: the account's new settings (a new passwordHash, say). */
  update(account: AccountConfig): void {
    this.#account = account;
    this.#publish();
  }

  /** Whether renewals can happen without a client's password (tokenStore.key set). */
  get renewsInBackground(): boolean {
    return this.#options.storeKey !== undefined;
  }

  /** A `login` since the last failure shows here (and in the metric) before any client logs in. */
  status(): SignInStatus {
    if (this.#status.state === 'missing' || this.#status.state === 'invalid') {
      const onDisk = this.#statusOnDisk();
      if (onDisk.state === 'stored') this.#setStatus(onDisk);
    }
    return this.#status;
  }

  /** The cached token while fresh, else one renewal shared by all callers. `rejected`: Exchange refused it. */
  getToken(password?: Secret, rejected?: Secret): Promise<AccessToken> {
    const current = this.#current;
    const wasRejected = rejected !== undefined && current !== undefined && rejected.reveal() === current.token.reveal();
    if (current && !wasRejected && this.#isFresh(current)) return this.#resealIfPasswordChanged(password).then(() => current);
    const opener: Opener | undefined = this.#options.storeKey ? { key: this.#options.storeKey } : password ? { password } : undefined;
    if (!opener) return Promise.reject(new TokenError('sign-in not renewed yet', true, 'no client has logged in since the start; without tokenStore.key the sign-in is renewed at client login'));
    this.#inFlight ??= this.#renew(opener).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /**
   * The local password changed (a new passwordHash, reloaded) since the store was sealed: a
   * client just logged in with the new one, so the sign-in held in memory is sealed again with
   * it, at once, rather than only when the access token is next renewed.
   */
  async #resealIfPasswordChanged(password: Secret | undefined): Promise<void> {
    const signIn = this.#signIn;
    if (!password || this.#options.storeKey || !signIn || this.#sealedUnder === this.#account.passwordHash) return;
    this.#resealing ??= (async () => {
      await this.#store.write(this.#account.username, signIn, { password });
      this.#sealedUnder = this.#account.passwordHash;
      this.#log.info({ event: 'signin.resealed' }, 'the local password changed: the stored sign-in is now encrypted with the new one');
    })().catch((error: unknown) => {
      this.#log.warn({ event: 'signin.reseal-failed', cause: (error as Error).message }, 'could not re-encrypt the stored sign-in with the new local password');
    }).finally(() => {
      this.#resealing = undefined;
    });
    return this.#resealing;
  }

  /** When the cached token should be renewed (epoch ms), for background renewals. */
  renewalDueAt(): number | undefined {
    const current = this.#current;
    if (!current) return undefined;
    return current.expiresAt - Math.min(this.#options.minRemainingSeconds * 1000, (current.expiresAt - current.obtainedAt) / 2);
  }

  #isFresh(token: AccessToken & { obtainedAt: number }): boolean {
    const lifetime = token.expiresAt - token.obtainedAt;
    return token.expiresAt - Date.now() > Math.min(this.#options.minRemainingSeconds * 1000, lifetime / 2);
  }

  async #renew(opener: Opener): Promise<AccessToken> {
    const started = Date.now();
    try {
      const signIn = await this.#open(opener);
      this.#options.metrics?.tokenRequests.add({ app: this.#app.name });
      const result = await withDeadline(redeemRefreshToken(this.#network, {
        authority: signIn.authority,
        clientId: signIn.clientId,
        scopes: delegatedScopes(this.#app, this.#account.protocols),
        refreshToken: signIn.refreshToken,
      }), this.#options.requestTimeoutMs, new URL(signIn.authority).host);
      const renewed: SignIn = { ...signIn, refreshToken: result.refreshToken ?? signIn.refreshToken, scopes: result.scopes || signIn.scopes };
      // Stored before use: a crash after this point must not leave only a refresh token Entra has replaced.
      await this.#store.write(this.#account.username, renewed, opener);
      this.#signIn = renewed;
      this.#sealedUnder = this.#account.passwordHash;
      this.#current = { ...result.accessToken, obtainedAt: started };
      this.#setStatus({ state: 'valid', renewedAt: new Date(), user: signIn.user });
      this.#log.info({ event: 'signin.renewed', durationMs: Date.now() - started, expiresAt: new Date(result.accessToken.expiresAt).toISOString(), signedInAs: signIn.user, scopes: renewed.scopes }, 'delegated access token renewed');
      return this.#current;
    } catch (error) {
      const failure = this.#explain(error);
      this.#options.metrics?.tokenFailures.add({ app: this.#app.name, kind: failure.temporary ? 'temporary' : 'permanent' });
      const fallback = this.#current;
      if (failure.temporary && fallback && fallback.expiresAt - Date.now() > 60_000) return fallback;
      throw failure;
    }
  }

  /**
   * The stored sign-in. Without a store key the file opens only with the password it was sealed
   * with: after the local password changed (new passwordHash and a reload) the proxy re-seals
   * the sign-in it still holds in memory with the new one; if it holds none, `login` is needed.
   */
  async #open(opener: Opener): Promise<SignIn> {
    try {
      const { signIn } = await this.#store.read(this.#account.username, opener);
      return signIn;
    } catch (error) {
      const remembered = this.#signIn;
      // Only a file sealed with a (previous) password: one sealed with the key is a newer `login`'s.
      const oldPassword = error instanceof SignInStoreError && error.failure.kind === 'locked' && error.failure.sealedWith === 'password';
      if (!(oldPassword && 'password' in opener && remembered)) throw error;
      await this.#store.write(this.#account.username, remembered, opener);
      this.#log.info({ event: 'signin.resealed' }, 'the local password changed: the stored sign-in is now encrypted with the new one');
      return remembered;
    }
  }

  /** A TokenError for the client and the log, the status and the metric set. */
  #explain(error: unknown): TokenError {
    const login = LOG_HINTS.signInAgain(this.#account.username);
    let failure: TokenError;
    if (error instanceof SignInStoreError) {
      const { failure: f } = error;
      const cause = f.kind === 'missing'
        ? 'no sign-in is stored'
        : f.kind === 'locked' && f.sealedWith === 'password' && !this.#options.storeKey
          ? 'the stored sign-in was encrypted with another local password (changed since?)'
          : f.kind === 'locked'
            ? `the stored sign-in does not open: ${f.detail}`
            : `the stored sign-in is unusable: ${f.detail}`;
      failure = new TokenError(`${cause}: ${login}`, false, cause);
    } else if (error instanceof TokenError) {
      // Entra refusing the refresh token (invalid_grant with 70008, 50173, …) is what `login` cures.
      failure = error.temporary ? error : new TokenError(`${error.reason}: ${login}`, false, error.detail, error.aadsts);
    } else {
      // The store's folder not writable, a full disk: the stored sign-in is still the old one.
      const code = (error as NodeJS.ErrnoException).code;
      failure = new TokenError(code ? 'the sign-in store cannot be written, try again later' : 'internal error, try again later', true, code ? `${(error as Error).message} (in ${this.#store.dir})` : String(error));
    }
    const missing = error instanceof SignInStoreError && error.failure.kind === 'missing';
    this.#setStatus({ state: failure.temporary ? 'unavailable' : missing ? 'missing' : 'invalid', cause: failure.reason });
    if (!failure.temporary && !missing) this.#recordFailure(failure);
    this.#log[failure.temporary ? 'warn' : 'error']({ event: 'signin.fail', cause: failure.detail, temporary: failure.temporary, ...(failure.temporary ? {} : { hint: login }) }, `delegated sign-in failed: ${failure.reason}`);
    return failure;
  }

  /** For doctor and accounts, which cannot open the store without the password. */
  #recordFailure(failure: TokenError): void {
    try {
      this.#store.recordFailure(this.#account.username, { cause: failure.reason, ...(failure.aadsts ? { aadsts: failure.aadsts } : {}) });
    } catch {
      // a missing or unreadable file already says that the sign-in does not work
    }
  }

  #statusOnDisk(): SignInStatus {
    try {
      const sealed = this.#store.readSealed(this.#account.username);
      if (sealed.lastFailure) return { state: 'invalid', cause: sealed.lastFailure.cause };
      return { state: 'stored', renewedAt: new Date(sealed.renewedAt) };
    } catch (error) {
      const login = LOG_HINTS.signInAgain(this.#account.username);
      if (error instanceof SignInStoreError && error.failure.kind === 'missing') return { state: 'missing', cause: `no sign-in is stored: ${login}` };
      return { state: 'invalid', cause: `the stored sign-in is unusable (${error instanceof Error ? error.message : String(error)}): ${login}` };
    }
  }

  #setStatus(status: SignInStatus): void {
    this.#status = status;
    this.#publish();
  }

  /** Unavailable (Entra out of reach) is not the sign-in's fault: it stays valid for the metric. */
  #publish(): void {
    const valid = this.#status.state === 'stored' || this.#status.state === 'valid' || this.#status.state === 'unavailable';
    this.#options.metrics?.delegatedSignInValid.set({ account: this.#account.username }, valid ? 1 : 0);
  }
}
