import { ConfidentialClientApplication, LogLevel, type Configuration } from '@azure/msal-node';
import type { Logger } from 'pino';
import type { AppConfig, HttpProxyConfig } from '../config/types.js';
import type { Metrics } from '../ops/metrics.js';
import { MICROSOFT_AUTHORITY_HOSTS } from '../config/clouds.js';
import { Secret } from '../config/secret.js';
import { readTokenClaims, type TokenClaims } from './claims.js';
import { TokenError, classifyTokenFailure } from './errors.js';
import { createNetworkClient, type TokenNetworkClient } from './network-client.js';

export interface AccessToken {
  token: Secret;
  /** Epoch milliseconds. */
  expiresAt: number;
  claims: TokenClaims | undefined;
}

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
 * App-only access tokens for one app registration (OAuth 2.0 client credentials via MSAL).
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
  readonly #msal: ConfidentialClientApplication;
  readonly #network: TokenNetworkClient;
  readonly #options: TokenProviderOptions;
  #current: (AccessToken & { obtainedAt: number }) | undefined;
  #inFlight: Promise<AccessToken> | undefined;
  /** The cause of the failure last logged as a warning; the same again is logged at debug only, until a token comes. */
  #lastFailure: string | undefined;

  constructor(app: AppConfig, options: TokenProviderOptions) {
    this.#app = app;
    this.#options = options;
    this.#network = createNetworkClient({ timeoutMs: options.requestTimeoutMs, ...(options.ca ? { ca: options.ca } : {}), ...(options.proxy ? { proxy: options.proxy } : {}) });
    this.#msal = new ConfidentialClientApplication(msalConfiguration(app, options, this.#network));
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
    const log = this.#options.log.child({ app: this.#app.name });
    const metrics = this.#options.metrics;
    metrics?.tokenRequests.add({ app: this.#app.name });
    this.#network.takeLastFailure(); // forget failures of earlier requests
    try {
      const token = await withDeadline(this.#acquire(), this.#options.requestTimeoutMs, new URL(this.#app.authorityHost).host);
      this.#current = { ...token, obtainedAt: started };
      this.#lastFailure = undefined;
      metrics?.tokenSeconds.observe({ app: this.#app.name }, (Date.now() - started) / 1000);
      log.info(
        { event: 'token.ok', durationMs: Date.now() - started, expiresAt: new Date(token.expiresAt).toISOString(), appid: token.claims?.appid, oid: token.claims?.oid, roles: token.claims?.roles, afterRejection },
        'access token obtained',
      );
      return token;
    } catch (error) {
      const failure = classifyTokenFailure(error, this.#network.takeLastFailure());
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

  async #acquire(): Promise<AccessToken> {
    // skipCache: this class decides when to renew; MSAL's cache would hand back a token
    // until 5 minutes before expiry, which is too late for a new IMAP session.
    const result = await this.#msal.acquireTokenByClientCredential({ scopes: [this.#app.scope], skipCache: true });
    if (!result?.accessToken) {
      throw new TokenError('token service answered without a token', true, 'token response had no access_token');
    }
    const claims = readTokenClaims(result.accessToken);
    const expiresAt = result.expiresOn?.getTime() ?? (claims?.exp ? claims.exp * 1000 : Date.now() + 3_600_000);
    return { token: new Secret(result.accessToken), expiresAt, claims };
  }
}

function msalConfiguration(app: AppConfig, options: TokenProviderOptions, networkClient: TokenNetworkClient): Configuration {
  const host = new URL(app.authorityHost).host;
  const credential = app.credential;
  return {
    auth: {
      clientId: app.clientId,
      authority: `${app.authorityHost}/${app.tenantId}`,
      // Hosts other than Microsoft's (a test authority, a private cloud) must be declared,
      // else MSAL asks Microsoft's instance discovery about them.
      ...(MICROSOFT_AUTHORITY_HOSTS.has(host) ? {} : { knownAuthorities: [host] }),
      ...(credential.kind === 'secret'
        ? { clientSecret: credential.clientSecret.reveal() }
        : { clientCertificate: { thumbprintSha256: credential.thumbprintSha256, privateKey: credential.privateKey.reveal() } }),
    },
    system: {
      networkClient,
      loggerOptions: {
        // MSAL's own logs can carry request details; keep only warnings, without PII.
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (_level, message) => options.log.debug({ event: 'msal', app: app.name, msal: message }, 'msal'),
      },
    },
  };
}

/** Worded like the network client's own timeout, which may fire first: one cause, one wording. */
function withDeadline<T>(promise: Promise<T>, ms: number, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TokenError('token service did not answer in time', true, `no answer from ${host} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** One provider per app registration. */
export function createTokenProviders(apps: ReadonlyMap<string, AppConfig>, options: TokenProviderOptions): Map<string, TokenProvider> {
  return new Map([...apps].map(([name, app]) => [name, new TokenProvider(app, options)]));
}
