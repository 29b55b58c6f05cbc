import { Secret } from '../config/secret.js';
import { readTokenClaims } from './claims.js';
import { classifyTokenFailure, TokenError } from './errors.js';
import type { AccessToken } from './msal-source.js';
import type { TokenNetworkClient } from './network-client.js';

export interface RefreshRequest {
  /** e.g. https://login.microsoftonline.com/organizations */
  authority: string;
  clientId: string;
  scopes: readonly string[];
  refreshToken: Secret;
}

export interface RefreshResult {
  accessToken: AccessToken;
  /** Entra ID rotates refresh tokens: the new one replaces the stored one. Absent: keep the old. */
  refreshToken?: Secret;
  scopes: string;
}

/**
 * One OAuth 2.0 refresh-token grant (RFC 6749 section 6) for a public client, sent directly
 * rather than through MSAL: MSAL keeps the rotated refresh token inside its own cache, where
 * the proxy would have to dig it out again; here it comes back in the answer, to be stored.
 */
export async function redeemRefreshToken(network: TokenNetworkClient, request: RefreshRequest): Promise<RefreshResult> {
  const body = new URLSearchParams({
    client_id: request.clientId,
    grant_type: 'refresh_token',
    refresh_token: request.refreshToken.reveal(),
    scope: request.scopes.join(' '),
  }).toString();
  network.takeLastFailure(); // forget earlier requests' failures
  let response;
  try {
    response = await network.sendPostRequestAsync<Record<string, unknown>>(`${request.authority}/oauth2/v2.0/token`, {
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
    });
  } catch (error) {
    throw classifyTokenFailure(error, network.takeLastFailure());
  }
  return readTokenAnswer(response.status, response.body ?? {});
}

/** The token endpoint's answer: a token, or a TokenError with the AADSTS code (never the request). */
export function readTokenAnswer(status: number, body: Record<string, unknown>): RefreshResult {
  if (status >= 400 || typeof body.error === 'string') {
    const codes = Array.isArray(body.error_codes) ? body.error_codes : [];
    throw classifyTokenFailure({
      errorCode: typeof body.error === 'string' ? body.error : `HTTP ${status}`,
      ...(codes.length > 0 ? { errorNo: String(codes[0]) } : {}),
      errorMessage: typeof body.error_description === 'string' ? body.error_description : '',
      status,
    });
  }
  const token = typeof body.access_token === 'string' ? body.access_token : '';
  if (token === '') throw new TokenError('token service answered without a token', true, 'token response had no access_token');
  const claims = readTokenClaims(token);
  const expiresIn = Number(body.expires_in);
  const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 : claims?.exp ? claims.exp * 1000 : Date.now() + 3_600_000;
  return {
    accessToken: { token: new Secret(token), expiresAt, claims },
    ...(typeof body.refresh_token === 'string' && body.refresh_token !== '' ? { refreshToken: new Secret(body.refresh_token) } : {}),
    scopes: typeof body.scope === 'string' ? body.scope : claims?.scp ?? '',
  };
}
