import { LogLevel, PublicClientApplication, type AuthenticationResult, type Configuration } from '@azure/msal-node';
import type { AppConfig, ProxyConfig } from '../config/types.js';
import { MICROSOFT_AUTHORITY_HOSTS } from '../config/clouds.js';
import { Secret } from '../config/secret.js';
import { readTokenClaims } from '../tokens/claims.js';
import { authorityOf } from '../tokens/delegated-scopes.js';
import { classifyTokenFailure } from '../tokens/errors.js';
import { createNetworkClient, type TokenNetworkClient } from '../tokens/network-client.js';
import type { SignIn } from '../tokens/signin-store.js';

/** What Entra ID says to show the person, exactly as it said it. */
export interface DeviceCodePrompt {
  verificationUri: string;
  userCode: string;
  message: string;
}

/**
 * A public client for the app (no secret: "Allow public client flows" on the registration),
 * going out as the proxy does (the upstream CA and HTTP proxy). MSAL runs the interactive
 * flows; the refresh token it receives is taken from its cache and stored by us.
 */
export function publicClient(app: AppConfig, config: ProxyConfig): { msal: PublicClientApplication; network: TokenNetworkClient } {
  const { ca, httpProxy } = config.upstream;
  const network = createNetworkClient({ timeoutMs: config.tokens.requestTimeoutMs, ...(ca ? { ca } : {}), ...(httpProxy ? { proxy: httpProxy } : {}) });
  const host = new URL(app.authorityHost).host;
  const configuration: Configuration = {
    auth: {
      clientId: app.clientId,
      authority: authorityOf(app),
      // Hosts other than Microsoft's (a test authority, a private cloud) must be declared.
      ...(MICROSOFT_AUTHORITY_HOSTS.has(host) ? {} : { knownAuthorities: [host] }),
    },
    system: { networkClient: network, loggerOptions: { piiLoggingEnabled: false, logLevel: LogLevel.Error, loggerCallback: () => {} } },
  };
  return { msal: new PublicClientApplication(configuration), network };
}

/** Device-code sign-in: `show` gets Entra's prompt; resolves once the person has signed in. */
export async function signInWithDeviceCode(client: ReturnType<typeof publicClient>, scopes: string[], show: (prompt: DeviceCodePrompt) => void): Promise<AuthenticationResult> {
  try {
    const result = await client.msal.acquireTokenByDeviceCode({
      scopes,
      deviceCodeCallback: (response) => show({ verificationUri: response.verificationUri, userCode: response.userCode, message: response.message }),
    });
    if (!result) throw new Error('the sign-in ended without a token');
    return result;
  } catch (error) {
    throw signInFailure(error, client.network);
  }
}

/** An MSAL or network failure in one clean line, with the AADSTS code where there is one. */
export function signInFailure(error: unknown, network: TokenNetworkClient): Error {
  const failure = classifyTokenFailure(error, network.takeLastFailure());
  return new Error(`sign-in failed: ${failure.reason}${failure.detail && failure.detail !== failure.reason ? ` (${failure.detail})` : ''}`);
}

/**
 * The sign-in to store: the refresh token from MSAL's serialized cache (the one token the
 * proxy keeps), who signed in, and the scopes granted.
 */
export async function signInOf(client: ReturnType<typeof publicClient>, result: AuthenticationResult, app: AppConfig): Promise<SignIn> {
  const cache = JSON.parse(client.msal.getTokenCache().serialize()) as { RefreshToken?: Record<string, { secret?: string; home_account_id?: string }> };
  const tokens = Object.values(cache.RefreshToken ?? {});
  const mine = tokens.find((t) => result.account && t.home_account_id === result.account.homeAccountId) ?? tokens[0];
  if (!mine?.secret) throw new Error('sign-in failed: Entra ID sent no refresh token (is offline_access among the app\'s permissions?)');
  const claims = readTokenClaims(result.accessToken);
  const user = result.account?.username || claims?.upn || '';
  if (user === '') throw new Error('sign-in failed: the token does not say who signed in');
  return { refreshToken: new Secret(mine.secret), user, scopes: result.scopes.join(' ') || claims?.scp || '', clientId: app.clientId, authority: authorityOf(app) };
}
