// The switches that make a stored sign-in stop working, each answered as Entra answers it,
// seen through a real MSAL PublicClientApplication renewing silently and as raw HTTP.
import { InteractionRequiredAuthError, ServerError, type AccountInfo, type PublicClientApplication } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxApp, type SandboxUser, type SignInFailure } from '../../src/sandbox/index.js';
import { httpsJson, MAIL_SCOPES, signInWithDeviceCode, tokenPath } from './helpers.js';
import { publicClient } from './msal.js';

let sandbox: Sandbox;
let app: SandboxApp;

beforeAll(async () => {
  sandbox = await startSandbox();
  app = sandbox.registerApp({ clientSecret: undefined, allowPublicClient: true, displayName: 'My mail proxy' });
});
afterAll(() => sandbox?.close());

let users = 0;
/** A fresh user signed in through MSAL's device code flow. */
async function signedIn(): Promise<{ user: SandboxUser; pca: PublicClientApplication; account: AccountInfo }> {
  const user = sandbox.addUser(`user${++users}@contoso.test`);
  const pca = publicClient(sandbox, app);
  const result = await pca.acquireTokenByDeviceCode({ scopes: MAIL_SCOPES, deviceCodeCallback: (r) => sandbox.approveDeviceCode(r.userCode, user.upn) });
  return { user, pca, account: result!.account! };
}

const renew = (pca: PublicClientApplication, account: AccountInfo) =>
  pca.acquireTokenSilent({ account, scopes: MAIL_SCOPES, forceRefresh: true }).then(() => 'renewed', (e: unknown) => e);

const refresh = (refreshToken: string) =>
  httpsJson(sandbox, tokenPath(sandbox), { grant_type: 'refresh_token', client_id: app.clientId, refresh_token: refreshToken, scope: MAIL_SCOPES.join(' ') });

const cases: Array<[SignInFailure, number, string | undefined, RegExp]> = [
  ['expired', 70008, undefined, /^AADSTS70008: The provided authorization code or refresh token has expired due to inactivity\./],
  ['inactive', 700082, undefined, /^AADSTS700082: The refresh token has expired due to inactivity\. The token was issued on \S+ and was inactive for 90\.00:00:00\./],
  ['revoked', 50173, undefined, /^AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed\. The user might have changed or reset their password\./],
  ['mfa-required', 50076, 'basic_action', /^AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000002-0000-0ff1-ce00-000000000000'\./],
  ['mfa-enrollment-required', 50079, 'basic_action', /^AADSTS50079: .* you must enroll in multi-factor authentication/],
  ['conditional-access', 53003, 'message_only', /^AADSTS53003: Access has been blocked by Conditional Access policies\. The access policy does not allow token issuance\./],
  ['consent-withdrawn', 65001, 'consent_required', /^AADSTS65001: The user or administrator has not consented to use the application with ID '[0-9a-f-]+' named 'My mail proxy'\./],
];

describe('sign-in failure switches', () => {
  it.each(cases)('%s: invalid_grant, AADSTS%s, suberror %s, for every refresh token of the user', async (failure, code, suberror, description) => {
    const { user, pca, account } = await signedIn();
    expect(await renew(pca, account)).toBe('renewed');
    user.failure = failure;
    const error = await renew(pca, account);
    // MSAL makes the ones with a suberror InteractionRequiredAuthError, the others ServerError
    expect(error).toBeInstanceOf(suberror ? InteractionRequiredAuthError : ServerError);
    expect(error).toMatchObject({ errorCode: 'invalid_grant', errorNo: code, ...(suberror ? { subError: suberror } : {}) });
    const raw = await refresh((await signInWithDeviceCode(sandbox, app, user.upn)).refresh_token);
    expect(raw.status).toBe(400);
    expect(raw.body).toMatchObject({ error: 'invalid_grant', error_codes: [code], error_uri: `https://login.microsoftonline.com/error?code=${code}` });
    expect(raw.body.suberror).toBe(suberror);
    expect(raw.body.error_description).toMatch(description);
    delete user.failure;
    expect(await renew(pca, account)).toBe('renewed');
  });

  it('failRefreshToken fails that one token and leaves the user\'s others alone', async () => {
    const { user } = await signedIn();
    const one = (await signInWithDeviceCode(sandbox, app, user.upn)).refresh_token;
    const two = (await signInWithDeviceCode(sandbox, app, user.upn)).refresh_token;
    sandbox.failRefreshToken(one, 'inactive');
    expect((await refresh(one)).body.error_codes).toEqual([700082]);
    expect((await refresh(two)).status).toBe(200);
    sandbox.failRefreshToken(one, undefined);
    expect((await refresh(one)).status).toBe(200);
    expect(() => sandbox.failRefreshToken('1.Anever-issued', 'expired')).toThrow(/never issued/);
  });

  it('revokeSignIns: every refresh token issued before fails with 50173; a new sign-in works', async () => {
    const { user, pca, account } = await signedIn();
    const earlier = (await signInWithDeviceCode(sandbox, app, user.upn)).refresh_token;
    sandbox.revokeSignIns(user.upn);
    expect(await renew(pca, account)).toMatchObject({ errorCode: 'invalid_grant', errorNo: 50173 });
    expect((await refresh(earlier)).body.error_codes).toEqual([50173]);
    const after = (await signInWithDeviceCode(sandbox, app, user.upn)).refresh_token;
    expect((await refresh(after)).status).toBe(200);
  });

  it('consent for the app\'s Exchange permissions taken away: 65001 consent_required', async () => {
    const { pca, account } = await signedIn();
    const consented = app.delegatedScopes!;
    app.delegatedScopes = ['SMTP.Send'];
    try {
      expect(await renew(pca, account)).toMatchObject({ errorCode: 'invalid_grant', errorNo: 65001, subError: 'consent_required' });
    } finally {
      app.delegatedScopes = consented;
    }
  });

  it('"Allow public client flows" turned off: refresh and device code polls get invalid_client AADSTS7000218', async () => {
    const { user, pca, account } = await signedIn();
    const code = await httpsJson(sandbox, `/${sandbox.tenantId}/oauth2/v2.0/devicecode`, { client_id: app.clientId, scope: MAIL_SCOPES.join(' ') });
    sandbox.approveDeviceCode(code.body.user_code, user.upn);
    app.allowPublicClient = false;
    try {
      expect(await renew(pca, account)).toMatchObject({ errorCode: 'invalid_client', errorNo: 7000218 });
      const poll = await httpsJson(sandbox, tokenPath(sandbox), { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: app.clientId, device_code: code.body.device_code });
      expect(poll.status).toBe(401);
      expect(poll.body).toMatchObject({ error: 'invalid_client', error_codes: [7000218] });
      expect(poll.body.error_description).toMatch(/^AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'\./);
    } finally {
      app.allowPublicClient = true;
    }
  });
});
