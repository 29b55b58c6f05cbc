// The token endpoint's delegated grants: the device code poll, the authorization code with
// PKCE, and the refresh token (which rotates: every answer carries a new one, and, as Entra,
// the old one is not revoked by that — it stays good until it fails for its own reasons).
import { createHash } from 'node:crypto';
import type { SandboxApp } from '../types.js';
import { checkCredential, hasCredential, publicClientNotAllowed, type BasicCredentials } from './client-credential.js';
import { entraError, missingParameter, type EntraError } from './errors.js';
import { issueTokens, type DelegatedContext } from './issue-tokens.js';
import { signInFailure } from './sign-in-failures.js';

export type { DelegatedContext } from './issue-tokens.js';

/** RFC 8628's grant type, and the short name MSAL sends (Entra takes both). */
const DEVICE_CODE = new Set(['urn:ietf:params:oauth:grant-type:device_code', 'device_code']);
export const DELEGATED_GRANTS = new Set([...DEVICE_CODE, 'authorization_code', 'refresh_token']);

type Answer = { status: number; body: Record<string, unknown> };

export function answerDelegatedGrant(ctx: DelegatedContext, app: SandboxApp, grantType: string, form: URLSearchParams, basic: BasicCredentials, assertionAudiences: string[], correlationId: string): Answer {
  const credentialed = hasCredential(form, basic);
  if (credentialed) {
    const credential = checkCredential(app, form, basic, assertionAudiences, correlationId);
    if ('error' in credential) return credential.error;
  }
  const client: Client = { app, credentialed, wantsClientInfo: form.get('client_info') === '1' };
  if (DEVICE_CODE.has(grantType)) return pollDeviceCode(ctx, client, form, correlationId);
  if (grantType === 'authorization_code') return redeemCode(ctx, client, form, correlationId);
  return redeemRefreshToken(ctx, client, form, correlationId);
}

/**
 * The client of a request. Without a credential it is a public client, which Entra lets use
 * the device code flow only with "Allow public client flows"; the code flow of a "Mobile and
 * desktop" redirect URI needs neither, nor do the refresh tokens that flow hands out.
 */
interface Client {
  app: SandboxApp;
  credentialed: boolean;
  wantsClientInfo: boolean;
}

function pollDeviceCode(ctx: DelegatedContext, { app, credentialed, wantsClientInfo }: Client, form: URLSearchParams, correlationId: string): Answer {
  if (!credentialed && !app.allowPublicClient) return publicClientNotAllowed(correlationId);
  const deviceCode = form.get('device_code');
  if (!deviceCode) return missingParameter('device_code', correlationId);
  const state = ctx.signIns.deviceCode(deviceCode);
  const fail = (error: string, code: number, message: string): EntraError => entraError(400, error, code, message, correlationId);
  if (!state || state.clientId.toLowerCase() !== app.clientId.toLowerCase() || state.status === 'redeemed') {
    return fail('bad_verification_code', 70018, 'The provided value for the input parameter \'device_code\' is not valid.');
  }
  const now = Date.now();
  if (state.expiresAt <= now) return fail('expired_token', 70019, 'Verification code expired.');
  if (state.status === 'declined') return fail('authorization_declined', 65004, 'User declined to consent to access the app.');
  if (state.status === 'pending') {
    // Entra documents no slow_down; RFC 8628 §3.5 defines it for a client polling faster than `interval`.
    const tooSoon = state.lastPollAt > 0 && now - state.lastPollAt < state.intervalMs;
    state.lastPollAt = now;
    if (tooSoon) return fail('slow_down', 70016, 'OAuth 2.0 device flow error. Authorization is pending. Poll less often: wait `interval` seconds between requests.');
    return fail('authorization_pending', 70016, 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.');
  }
  const user = state.userObjectId ? ctx.directory.userById(state.userObjectId) : undefined;
  if (!user) return fail('bad_verification_code', 70018, 'The provided value for the input parameter \'device_code\' is not valid.');
  const answer = issueTokens(ctx, { app, user, scope: state.scope, wantsClientInfo, correlationId });
  if (answer.status === 200) state.status = 'redeemed';
  return answer;
}

function redeemCode(ctx: DelegatedContext, { app, credentialed, wantsClientInfo }: Client, form: URLSearchParams, correlationId: string): Answer {
  const code = form.get('code');
  if (!code) return missingParameter('code', correlationId);
  const redirectUri = form.get('redirect_uri');
  if (!redirectUri) return missingParameter('redirect_uri', correlationId);
  const scope = form.get('scope');
  if (!scope) return missingParameter('scope', correlationId);
  const state = ctx.signIns.authCode(code);
  const grant = (errorCode: number, message: string): EntraError => entraError(400, 'invalid_grant', errorCode, message, correlationId);
  if (!state || state.clientId.toLowerCase() !== app.clientId.toLowerCase()) return grant(9002313, 'Invalid request. Request is malformed or invalid.');
  if (state.redeemed) return grant(54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
  if (state.expiresAt <= Date.now()) return grant(70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
  if (redirectUri !== state.redirectUri) {
    return grant(50011, `The redirect URI '${redirectUri}' specified in the request does not match the redirect URI used to request the authorization code for the application '${app.clientId}'.`);
  }
  if (state.codeChallenge !== undefined && !verifierMatches(form.get('code_verifier'), state.codeChallenge, state.codeChallengeMethod)) {
    return grant(501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.');
  }
  const user = ctx.directory.userById(state.userObjectId);
  if (!user) return grant(9002313, 'Invalid request. Request is malformed or invalid.');
  // A code is spent by its first redemption, successful or not.
  state.redeemed = true;
  return issueTokens(ctx, { app, user, scope, wantsClientInfo, nativeRedirect: !credentialed, ...(state.nonce ? { nonce: state.nonce } : {}), correlationId });
}

function verifierMatches(verifier: string | null, challenge: string, method: string | undefined): boolean {
  if (!verifier) return false;
  const derived = method === 'plain' ? verifier : createHash('sha256').update(verifier).digest('base64url');
  return derived === challenge;
}

function redeemRefreshToken(ctx: DelegatedContext, { app, credentialed, wantsClientInfo }: Client, form: URLSearchParams, correlationId: string): Answer {
  ctx.stats.refreshRequests++;
  const refreshToken = form.get('refresh_token');
  if (!refreshToken) return missingParameter('refresh_token', correlationId);
  const scope = form.get('scope');
  if (!scope) return missingParameter('scope', correlationId);
  const state = ctx.signIns.refreshToken(refreshToken);
  if (!state) return entraError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.', correlationId);
  if (state.clientId.toLowerCase() !== app.clientId.toLowerCase()) {
    return entraError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.', correlationId);
  }
  if (!credentialed && !app.allowPublicClient && !state.nativeRedirect) return publicClientNotAllowed(correlationId);
  const user = ctx.directory.userById(state.userObjectId);
  const revoked = !user || ctx.directory.signInGeneration(user) !== state.generation;
  const failure = revoked ? 'revoked' : state.failure ?? user.failure;
  if (failure) return signInFailure(failure, app, state.issuedAt, correlationId);
  return issueTokens(ctx, { app, user: user!, scope, wantsClientInfo, rotate: true, nativeRedirect: state.nativeRedirect ?? false, correlationId });
}
