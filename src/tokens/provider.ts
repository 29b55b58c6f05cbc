import type { Logger } from 'pino';
import type { AppConfig, HttpProxyConfig } from '../config/types.js';
import type { Metrics } from '../ops/metrics.js';
import type { Secret } from '../config/secret.js';
import { TokenError, classifyTokenFailure } from './errors.js';
import { msalTokenSource, type AccessToken, type TokenSource } from './msal-source.js';

export type { AccessToken, TokenSource } from './msal-source.js';

export interface TokenProviderOptions {
  requestTimeoutMs: number;
  minRemainingSeconds: number;
  ca?: string;
  /** Token requests go through this proxy's CONNECT tunnels. */
  proxy?: HttpProxyConfig;
  log: Logger;
  metrics?: Metrics;
}

/** A fallback token must have at least this much (or a quarter of its lifetime) left. */
const FALLBACK_MIN_REMAINING_MS = 60_000;

/**
 * App-only access tokens for one app registration, from a TokenSource (MSAL by default).
 *
 * - Concurrent requests are merged into one (MSAL does not: 100 parallel calls on a fresh
 *   instance make 100 requests), so a burst of logins costs one token request.
 * - A token is renewed once less than `minRemainingSeconds` (or half its lifetime) is left,
 *   because Exchange ends an IMAP session when its token expires.
 * - Each request has a hard deadline; on a temporary failure the last good token is used
 *   while it is still valid.
 * - `getToken(rejected)` renews when Exchange refused the token it was given.
 */
export class TokenProvider {
  readonly #app: AppConfig;
  readonly #source: TokenSource;
  readonly #options: TokenProviderOptions;
  #current: (AccessToken & { obtainedAt: number }) | undefined;
  #inFlight: Promise<AccessToken> | undefined;
  /** The cause of the failure last logged as a warning; the same again is logged at debug only, until a token comes. */
  #lastFailure: string | undefined;

  /** `source`: where tokens come from (MSAL unless a test passes a fake). */
  constructor(app: AppConfig, options: TokenProviderOptions, source: TokenSource = msalTokenSource(app, options)) {
    this.#app = app;
    this.#options = options;
    this.#source = source;
  }

  getToken(rejected?: Secret): Promise<AccessToken> {
    const current = this.#current;
    const wasRejected = rejected !== undefined && current !== undefined && rejected.reveal() === current.token.reveal();
    if (current && !wasRejected && this.#isFresh(current)) return Promise.resolve(current);
    this.#inFlight ??= this.#request(wasRejected).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  #isFresh(token: AccessToken & { obtainedAt: number }): boolean {
    const now = Date.now();
    const lifetime = token.expiresAt - token.obtainedAt;
    const renewBelow = Math.min(this.#options.minRemainingSeconds * 1000, lifetime / 2);
    return token.expiresAt - now > renewBelow;
  }

  async #request(afterRejection: boolean): Promise<AccessToken> {
    const started = Date.now();
    // Two providers per app when it sends through Graph: the scope tells their lines apart.
    const log = this.#options.log.child({ app: this.#app.name, scope: this.#app.scope });
    const metrics = this.#options.metrics;
    metrics?.tokenRequests.add({ app: this.#app.name });
    this.#source.takeLastFailure(); // forget failures of earlier requests
    try {
      const token = await withDeadline(this.#source.acquire(), this.#options.requestTimeoutMs, new URL(this.#app.authorityHost).host);
      this.#current = { ...token, obtainedAt: started };
      this.#lastFailure = undefined;
      metrics?.tokenSeconds.observe({ app: this.#app.name }, (Date.now() - started) / 1000);
      log.info(
        { event: 'token.ok', durationMs: Date.now() - started, expiresAt: new Date(token.expiresAt).toISOString(), appid: token.claims?.appid, oid: token.claims?.oid, roles: token.claims?.roles, afterRejection },
        'access token obtained',
      );
      return token;
    } catch (error) {
      const failure = classifyTokenFailure(error, this.#source.takeLastFailure());
      metrics?.tokenFailures.add({ app: this.#app.name, kind: failure.temporary ? 'temporary' : 'permanent' });
      const fallback = this.#current;
      const usable = failure.temporary && !afterRejection && fallback
        && fallback.expiresAt - Date.now() > Math.min(FALLBACK_MIN_REMAINING_MS, (fallback.expiresAt - fallback.obtainedAt) / 4);
      // Retries (background, logins, /readyz) while Entra is down or out of reach say the same
      // thing each time: one warning per distinct cause.
      const cause = failure.aadsts ? `AADSTS${failure.aadsts}` : failure.detail;
      const repeated = cause === this.#lastFailure;
      this.#lastFailure = cause;
      log[repeated ? 'debug' : 'warn'](
        { event: 'token.fail', durationMs: Date.now() - started, reason: failure.reason, cause: failure.detail, temporary: failure.temporary, usingCachedToken: Boolean(usable), ...(repeated ? { repeated } : {}) },
        'access token request failed',
      );
      if (usable) return fallback;
      throw failure;
    }
  }
}

/** Worded like the network client's own timeout, which may fire first: one cause, one wording. */
export function withDeadline<T>(promise: Promise<T>, ms: number, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TokenError('token service did not answer in time', true, `no answer from ${host} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** One provider per app registration that has a credential (a public client gets no app-only tokens). */
export function createTokenProviders(apps: ReadonlyMap<string, AppConfig>, options: TokenProviderOptions): Map<string, TokenProvider> {
  return new Map([...apps].filter(([, app]) => app.credential.kind !== 'none').map(([name, app]) => [name, new TokenProvider(app, options)]));
}

/**
 * One provider per app registration for its Microsoft Graph scope: a Graph token is another
 * token (another audience) than the Outlook one, cached and merged on its own.
 */
export function createGraphTokenProviders(apps: ReadonlyMap<string, AppConfig>, options: TokenProviderOptions): Map<string, TokenProvider> {
  return new Map([...apps].filter(([, app]) => app.credential.kind !== 'none').map(([name, app]) => [name, new TokenProvider({ ...app, scope: app.graphScope }, options)]));
}
