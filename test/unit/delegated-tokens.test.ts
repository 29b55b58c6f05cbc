import { describe, expect, it } from 'vitest';
import { delegatedScopes } from '../../src/tokens/delegated-scopes.js';
import { readTokenAnswer } from '../../src/tokens/refresh-grant.js';
import { TokenError } from '../../src/tokens/errors.js';
import type { AppConfig } from '../../src/config/types.js';

const app = (tenantId: string, scope = 'https://outlook.office365.com/.default'): AppConfig => ({ name: 'mine', tenantId, clientId: 'x', credential: { kind: 'none' }, authorityHost: 'https://login.microsoftonline.com', scope, graphScope: 'https://graph.microsoft.com/.default' });

function thrown(fn: () => unknown): TokenError {
  try {
    fn();
  } catch (error) {
    return error as TokenError;
  }
  throw new Error('expected a TokenError');
}

describe('delegated tokens', () => {
  it('asks for the long scope form of each of the account\'s protocols on the cloud\'s mail resource, plus offline_access', () => {
    expect(delegatedScopes(app('contoso.com'), ['imap', 'smtp'])).toEqual(['https://outlook.office365.com/IMAP.AccessAsUser.All', 'https://outlook.office365.com/SMTP.Send', 'offline_access']);
    expect(delegatedScopes(app('contoso.us', 'https://outlook.office365.us/.default'), ['pop3'])).toEqual(['https://outlook.office365.us/POP.AccessAsUser.All', 'offline_access']);
    // Personal accounts: the documented resource; a bare name would mean Microsoft Graph.
    expect(delegatedScopes(app('consumers'), ['imap'])).toEqual(['https://outlook.office.com/IMAP.AccessAsUser.All', 'offline_access']);
  });

  it('reads a refresh answer: the token, its expiry, the rotated refresh token and the granted scopes', () => {
    const result = readTokenAnswer(200, { access_token: 'abc', expires_in: 3599, refresh_token: 'new-rt', scope: 'https://outlook.office365.com/IMAP.AccessAsUser.All' });
    expect(result.accessToken.token.reveal()).toBe('abc');
    expect(result.accessToken.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);
    expect(result.refreshToken?.reveal()).toBe('new-rt');
    expect(readTokenAnswer(200, { access_token: 'abc', expires_in: 60 }).refreshToken).toBeUndefined();
    expect(thrown(() => readTokenAnswer(200, {}))).toMatchObject({ temporary: true, reason: 'token service answered without a token' });
  });

  it('turns Entra\'s refusal into the AADSTS code and a short reason, never the request; a 5xx is temporary', () => {
    const error = thrown(() => readTokenAnswer(400, { error: 'invalid_grant', error_description: 'AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.\r\nTrace ID: 1', error_codes: [70008] }));
    expect(error).toMatchObject({ temporary: false, aadsts: '70008', reason: 'the sign-in has expired (AADSTS70008)' });
    expect(error.detail).toBe('invalid_grant: AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.');
    expect(thrown(() => readTokenAnswer(503, { error: 'temporarily_unavailable' }))).toMatchObject({ temporary: true });
  });
});
