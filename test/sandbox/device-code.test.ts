// The device code flow and refresh tokens of the sandbox's Entra, driven by a real MSAL
// PublicClientApplication, and the delegated token it yields logging in to IMAP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxApp, type SandboxUser } from '../../src/sandbox/index.js';
import { WireClient } from '../helpers/wire.js';
import { claimsOf, httpsJson, MAIL_SCOPES, xoauth2 } from './helpers.js';
import { publicClient } from './msal.js';

let sandbox: Sandbox;
let app: SandboxApp;
let user: SandboxUser;
const UPN = 'ada@contoso.test';

beforeAll(async () => {
  sandbox = await startSandbox({ deviceCodeIntervalSeconds: 1 });
  app = sandbox.registerApp({ clientSecret: undefined, allowPublicClient: true, displayName: 'My mail proxy' });
  user = sandbox.addUser(UPN, { displayName: 'Ada Lovelace' });
  sandbox.addMailbox(UPN, [Buffer.from('From: b@contoso.test\r\nSubject: Hi\r\n\r\nHello.\r\n')]);
});
afterAll(() => sandbox?.close());

const deviceCodePath = () => `/${sandbox.tenantId}/oauth2/v2.0/devicecode`;
const tokenPath = () => `/${sandbox.tenantId}/oauth2/v2.0/token`;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

async function imapLogin(address: string, token: string): Promise<string> {
  const wire = await WireClient.open(sandbox.imap.port, { tls: true, ca: sandbox.caPem });
  await wire.line();
  wire.send(`a1 AUTHENTICATE XOAUTH2 ${xoauth2(address, token)}\r\n`);
  const answer = await wire.line();
  wire.send('a2 SELECT INBOX\r\n');
  const select = (await wire.until(/^a2 /)).at(-1)!;
  wire.close();
  return `${answer} / ${select}`;
}

describe('device code flow', () => {
  it('hands out a code as Entra does, says pending until the person approves, then issues tokens MSAL accepts', async () => {
    let shown: { userCode: string; verificationUri: string; message: string; interval: number; expiresIn: number } | undefined;
    const answers: unknown[] = [];
    // the person approves once the first poll was answered authorization_pending (interval 1 s)
    const pca = publicClient(sandbox, app, (body) => {
      answers.push(body.error ?? 'tokens');
      if (body.error === 'authorization_pending') sandbox.approveDeviceCode(shown!.userCode, UPN);
    });
    const result = await pca.acquireTokenByDeviceCode({ scopes: MAIL_SCOPES, deviceCodeCallback: (response) => void (shown = response) });
    expect(answers).toEqual(['tokens', 'authorization_pending', 'tokens']);
    expect(shown).toMatchObject({ verificationUri: 'https://microsoft.com/devicelogin', interval: 1, expiresIn: 900 });
    expect(shown!.userCode).toMatch(/^[A-Z0-9]{9}$/);
    expect(shown!.message).toBe(`To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ${shown!.userCode} to authenticate.`);
    expect(result).not.toBeNull();
    expect(result!.account).toMatchObject({ username: UPN, name: 'Ada Lovelace', localAccountId: user.objectId, tenantId: sandbox.tenantId, homeAccountId: `${user.objectId}.${sandbox.tenantId}` });
    expect(result!.scopes).toEqual(expect.arrayContaining(MAIL_SCOPES));
    const claims = claimsOf(result!.accessToken);
    expect(claims).toMatchObject({
      aud: 'https://outlook.office365.com', iss: `https://sts.windows.net/${sandbox.tenantId}/`, tid: sandbox.tenantId,
      oid: user.objectId, upn: UPN, unique_name: UPN, appid: app.clientId, appidacr: '0', idtyp: 'user',
      scp: 'IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send', ver: '1.0',
    });
    expect(claims).not.toHaveProperty('roles');
    expect(sandbox.pendingDeviceCodes()).toEqual([]);
    expect(await imapLogin(UPN, result!.accessToken)).toBe('a1 OK AUTHENTICATE completed. / a2 OK [READ-WRITE] SELECT completed.');
  });

  it('renews with the refresh token: MSAL acquireTokenSilent and acquireTokenByRefreshToken get new tokens', async () => {
    const pca = publicClient(sandbox, app);
    const first = await pca.acquireTokenByDeviceCode({ scopes: MAIL_SCOPES, deviceCodeCallback: (r) => sandbox.approveDeviceCode(r.userCode, UPN) });
    const before = sandbox.stats.refreshRequests;
    const silent = await pca.acquireTokenSilent({ account: first!.account!, scopes: MAIL_SCOPES, forceRefresh: true });
    expect(sandbox.stats.refreshRequests).toBe(before + 1);
    expect(silent.accessToken).not.toBe(first!.accessToken);
    expect(claimsOf(silent.accessToken)).toMatchObject({ upn: UPN, scp: 'IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send' });

    const cache = JSON.parse(pca.getTokenCache().serialize()) as { RefreshToken: Record<string, { secret: string }> };
    const refreshToken = Object.values(cache.RefreshToken)[0]!.secret;
    const other = publicClient(sandbox, app);
    const byRefresh = await other.acquireTokenByRefreshToken({ refreshToken, scopes: ['https://outlook.office365.com/IMAP.AccessAsUser.All'] });
    expect(claimsOf(byRefresh!.accessToken)).toMatchObject({ upn: UPN, scp: 'IMAP.AccessAsUser.All' });
    expect(await imapLogin(UPN, byRefresh!.accessToken)).toBe('a1 OK AUTHENTICATE completed. / a2 OK [READ-WRITE] SELECT completed.');
  });

  it('works with the "organizations" and "common" authorities too; "consumers" is not in the sandbox', async () => {
    for (const tenant of ['organizations', 'common']) {
      const pca = publicClient(sandbox, app, undefined, tenant);
      const result = await pca.acquireTokenByDeviceCode({ scopes: MAIL_SCOPES, deviceCodeCallback: (r) => sandbox.approveDeviceCode(r.userCode, UPN) });
      expect(result!.account).toMatchObject({ username: UPN, tenantId: sandbox.tenantId });
      expect(claimsOf(result!.accessToken)).toMatchObject({ tid: sandbox.tenantId, upn: UPN });
      const renewed = await pca.acquireTokenSilent({ account: result!.account!, scopes: MAIL_SCOPES, forceRefresh: true });
      expect(claimsOf(renewed.accessToken).upn).toBe(UPN);
    }
    const consumers = await httpsJson(sandbox, '/consumers/oauth2/v2.0/devicecode', { client_id: app.clientId, scope: MAIL_SCOPES.join(' ') });
    expect(consumers.body.error_codes).toEqual([90002]);
    // client credentials still need the tenant itself
    const confidential = sandbox.registerApp({});
    const common = await httpsJson(sandbox, '/common/oauth2/v2.0/token', { grant_type: 'client_credentials', client_id: confidential.clientId, client_secret: confidential.clientSecret!, scope: 'https://outlook.office365.com/.default' });
    expect(common.body.error_codes).toEqual([90002]);
  });

  it('rotates refresh tokens on every use; the previous one stays good, as Entra does not revoke it', async () => {
    const code = await httpsJson(sandbox, deviceCodePath(), { client_id: app.clientId, scope: `${MAIL_SCOPES.join(' ')} offline_access openid profile` });
    sandbox.approveDeviceCode(code.body.user_code, UPN);
    const tokens = await httpsJson(sandbox, tokenPath(), { grant_type: DEVICE_GRANT, client_id: app.clientId, device_code: code.body.device_code });
    expect(tokens.status).toBe(200);
    const first = tokens.body.refresh_token as string;
    const refresh = (refreshToken: string) => httpsJson(sandbox, tokenPath(), { grant_type: 'refresh_token', client_id: app.clientId, refresh_token: refreshToken, scope: MAIL_SCOPES[0]! });
    const second = await refresh(first);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).toEqual(expect.any(String));
    expect(second.body.refresh_token).not.toBe(first);
    expect(second.body.scope).toBe(MAIL_SCOPES[0]);
    const third = await refresh(second.body.refresh_token);
    expect(third.body.refresh_token).not.toBe(second.body.refresh_token);
    expect((await refresh(first)).status).toBe(200);
  });
});

describe('device code flow, the other answers', () => {
  const poll = (deviceCode: string) => httpsJson(sandbox, tokenPath(), { grant_type: DEVICE_GRANT, client_id: app.clientId, device_code: deviceCode });
  const newCode = async () => (await httpsJson(sandbox, deviceCodePath(), { client_id: app.clientId, scope: MAIL_SCOPES.join(' ') })).body;

  it('answers authorization_pending (70016), then slow_down to a poll sooner than interval', async () => {
    const code = await newCode();
    const first = await poll(code.device_code);
    expect(first.status).toBe(400);
    expect(first.body).toMatchObject({ error: 'authorization_pending', error_codes: [70016] });
    expect(first.body.error_description).toMatch(/^AADSTS70016: OAuth 2\.0 device flow error\. Authorization is pending\. Continue polling\.\r\nTrace ID: /);
    expect(sandbox.pendingDeviceCodes()).toContain(code.user_code);
    // an interval no loaded machine takes between two requests
    const slow = await startSandbox({ deviceCodeIntervalSeconds: 600 });
    try {
      const slowApp = slow.registerApp({ clientSecret: undefined, allowPublicClient: true });
      const slowCode = (await httpsJson(slow, deviceCodePath(), { client_id: slowApp.clientId, scope: MAIL_SCOPES.join(' ') })).body;
      expect(slowCode.interval).toBe(600);
      const slowPoll = () => httpsJson(slow, `/${slow.tenantId}/oauth2/v2.0/token`, { grant_type: DEVICE_GRANT, client_id: slowApp.clientId, device_code: slowCode.device_code });
      expect((await slowPoll()).body.error).toBe('authorization_pending');
      expect((await slowPoll()).body).toMatchObject({ error: 'slow_down', error_codes: [70016] });
    } finally {
      await slow.close();
    }
  });

  it('answers authorization_declined when the person declines, expired_token after expiry, bad_verification_code for an unknown or spent code', async () => {
    const declined = await newCode();
    sandbox.declineDeviceCode(declined.user_code);
    expect((await poll(declined.device_code)).body).toMatchObject({ error: 'authorization_declined', error_codes: [65004] });
    expect(() => sandbox.approveDeviceCode(declined.user_code, UPN)).toThrow(/declined/);

    const expired = await newCode();
    sandbox.expireDeviceCode(expired.user_code);
    expect((await poll(expired.device_code)).body).toMatchObject({ error: 'expired_token', error_codes: [70019] });
    expect(sandbox.pendingDeviceCodes()).not.toContain(expired.user_code);

    expect((await poll('DAQABIQEAAADnot-a-code')).body).toMatchObject({ error: 'bad_verification_code' });
    const spent = await newCode();
    // user codes are taken case-insensitively, as a person types them
    sandbox.approveDeviceCode(spent.user_code.toLowerCase(), UPN);
    expect((await poll(spent.device_code)).status).toBe(200);
    expect((await poll(spent.device_code)).body.error).toBe('bad_verification_code');
    expect(() => sandbox.approveDeviceCode('NOSUCHCODE', UPN)).toThrow(/no device code/);
    const unknownUser = await newCode();
    expect(() => sandbox.approveDeviceCode(unknownUser.user_code, 'nobody@contoso.test')).toThrow(/no user/);
  });

  it('refuses an unknown app, a missing scope and scopes of two resources as Entra does', async () => {
    const unknown = await httpsJson(sandbox, deviceCodePath(), { client_id: '11111111-1111-1111-1111-111111111111', scope: MAIL_SCOPES[0]! });
    expect(unknown).toMatchObject({ status: 400, body: { error: 'unauthorized_client', error_codes: [700016] } });
    const noScope = await httpsJson(sandbox, deviceCodePath(), { client_id: app.clientId });
    expect(noScope).toMatchObject({ status: 400, body: { error: 'invalid_request', error_codes: [900144] } });
    const twoResources = await httpsJson(sandbox, deviceCodePath(), { client_id: app.clientId, scope: `${MAIL_SCOPES[0]} https://graph.microsoft.com/User.Read` });
    expect(twoResources).toMatchObject({ status: 400, body: { error: 'invalid_scope', error_codes: [28000] } });
  });

  it('refuses Exchange permissions the app has no consent for: 65001 consent_required', async () => {
    const narrow = sandbox.registerApp({ clientSecret: undefined, allowPublicClient: true, delegatedScopes: ['SMTP.Send'] });
    const code = await httpsJson(sandbox, deviceCodePath(), { client_id: narrow.clientId, scope: MAIL_SCOPES.join(' ') });
    sandbox.approveDeviceCode(code.body.user_code, UPN);
    const answer = await httpsJson(sandbox, tokenPath(), { grant_type: DEVICE_GRANT, client_id: narrow.clientId, device_code: code.body.device_code });
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_codes: [65001], suberror: 'consent_required' } });
  });
});
