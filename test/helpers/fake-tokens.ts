import type { AppConfig } from '../../src/config/types.js';
import type { NetworkFailure } from '../../src/tokens/network-client.js';
import { Secret } from '../../src/config/secret.js';
import type { Logger } from '../../src/ops/log.js';
import { TokenProvider, type AccessToken, type TokenSource } from '../../src/tokens/provider.js';

export const FAKE_APP: AppConfig = {
  name: 'contoso',
  tenantId: 'contoso.onmicrosoft.com',
  clientId: '11111111-2222-3333-4444-555555555555',
  credential: { kind: 'secret', clientSecret: new Secret('abc~never.logged') },
  authorityHost: 'https://login.microsoftonline.com',
  scope: 'https://outlook.office365.com/.default',
  graphScope: 'https://graph.microsoft.com/.default',
};

/** One token request the fake token service has not answered yet. */
interface Pending {
  resolve(token: AccessToken): void;
  reject(error: unknown): void;
}

/**
 * A token service the test answers by hand: each `acquire()` waits until the test calls
 * `grant()` or `fail()` (or never, for a service that hangs). Tokens are "token-1", "token-2"...
 */
export class FakeTokenSource implements TokenSource {
  /** Requests sent so far. */
  requests = 0;
  readonly #pending: Pending[] = [];
  #lastFailure: NetworkFailure | undefined;
  #respond: (() => void) | undefined;

  acquire(): Promise<AccessToken> {
    this.requests++;
    const answer = new Promise<AccessToken>((resolve, reject) => this.#pending.push({ resolve, reject }));
    const respond = this.#respond;
    if (respond) queueMicrotask(respond);
    return answer;
  }

  /** From now on, answers every request at once: with a one-hour token, or failing with `error()`. */
  answerAll(error?: () => unknown): this {
    this.#respond = error ? () => this.fail(error()) : () => this.grant();
    return this;
  }

  takeLastFailure(): NetworkFailure | undefined {
    const failure = this.#lastFailure;
    this.#lastFailure = undefined;
    return failure;
  }

  get waiting(): number {
    return this.#pending.length;
  }

  /** Answers the oldest waiting request with a token valid for `lifetimeMs` from now. */
  grant(lifetimeMs = 3_600_000, roles: string[] = ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp']): AccessToken {
    const token: AccessToken = { token: new Secret(`token-${this.requests}`), expiresAt: Date.now() + lifetimeMs, claims: { roles, appid: FAKE_APP.clientId, oid: 'sp-object-id' } };
    this.#next().resolve(token);
    return token;
  }

  /** Fails the oldest waiting request as MSAL does; `network` is what the HTTP client saw. */
  fail(error: unknown, network?: string): void {
    this.#lastFailure = network === undefined ? undefined : { text: network };
    this.#next().reject(error);
  }

  #next(): Pending {
    const pending = this.#pending.shift();
    if (!pending) throw new Error('no token request is waiting');
    return pending;
  }
}

/** MSAL's error for a refused or cut connection (temporary). */
export const networkError = () => Object.assign(new Error('network_error: Network request failed'), { errorCode: 'network_error' });
/** Entra ID's answer to a wrong client secret (permanent). */
export const badSecretError = () => Object.assign(new Error('invalid_client: AADSTS7000215: Invalid client secret provided.'), { errorCode: 'invalid_client', errorNo: '7000215', status: 401 });

export function fakeTokenProvider(log: Logger, options: { minRemainingSeconds?: number; requestTimeoutMs?: number } = {}): { provider: TokenProvider; source: FakeTokenSource } {
  const source = new FakeTokenSource();
  const provider = new TokenProvider(FAKE_APP, { requestTimeoutMs: options.requestTimeoutMs ?? 5_000, minRemainingSeconds: options.minRemainingSeconds ?? 600, log }, source);
  return { provider, source };
}
