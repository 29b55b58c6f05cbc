// Entra's answers to a refresh token that is no longer good, one per SignInFailure. All are
// HTTP 400 invalid_grant; `suberror` is there where Entra sends one (MSAL turns those into
// InteractionRequiredAuthError).
import type { SandboxApp, SignInFailure } from '../types.js';
import { entraError, type EntraError } from './errors.js';

/** The application ID of "Office 365 Exchange Online", which MFA answers name. */
const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');

export function signInFailure(failure: SignInFailure, app: SandboxApp, issuedAt: number, correlationId: string): EntraError {
  const grant = (code: number, message: string, suberror?: string): EntraError =>
    entraError(400, 'invalid_grant', code, message, correlationId, suberror ? { suberror } : {});
  switch (failure) {
    case 'expired':
      return grant(70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
    case 'inactive':
      return grant(700082, `The refresh token has expired due to inactivity. The token was issued on ${iso(issuedAt)} and was inactive for 90.00:00:00.`);
    case 'revoked':
      return grant(50173, `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${iso(issuedAt)}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${iso(Date.now())}'.`);
    case 'mfa-required':
      return grant(50076, `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${EXCHANGE_APP_ID}'.`, 'basic_action');
    case 'mfa-enrollment-required':
      return grant(50079, `Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '${EXCHANGE_APP_ID}'.`, 'basic_action');
    case 'conditional-access':
      return grant(53003, 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.', 'message_only');
    case 'consent-withdrawn':
      return consentRequired(app, correlationId);
  }
}

export const consentRequired = (app: SandboxApp, correlationId: string): EntraError =>
  entraError(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application with ID '${app.clientId}' named '${app.displayName ?? 'o365-mail-proxy'}'. Send an interactive authorization request for this user and resource.`, correlationId, { suberror: 'consent_required' });
