// The authorization code flow with PKCE: MSAL builds the authorize URL, curl plays the browser
// and follows the sandbox's redirect to a loopback listener, MSAL redeems the code.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { CryptoProvider, ServerError } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxApp, type SandboxUser } from '../../src/sandbox/index.js';
import { tempDir } from '../helpers/config.js';
import { claimsOf, httpsJson, MAIL_SCOPES } from './helpers.js';
import { publicClient } from './msal.js';

const UPN = 'grace@contoso.test';
let sandbox: Sandbox;
let app: SandboxApp;
let user: SandboxUser;
let caFile: string;
let loopback: Server;
let redirectUri: string;
/** What the loopback listener received, per state. */
const received = new Map<string, URLSearchParams>();

beforeAll(async () => {
  sandbox = await startSandbox();
  // no "Allow public client flows": the code flow of a desktop redirect URI does not need it
  app = sandbox.registerApp({ clientSecret: undefined });
  user = sandbox.addUser(UPN, { displayName: 'Grace Hopper' });
  caFile = join(tempDir({}), 'ca.pem');
  writeFileSync(caFile, sandbox.caPem);
  loopback = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
    received.set(query.get('state') ?? '', query);
    res.end('You can close this window.');
  });
  await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
  redirectUri = `http://127.0.0.1:${(loopback.address() as { port: number }).port}/`;
});
afterAll(async () => {
  await sandbox?.close();
  loopback?.close();
});

/** curl as the browser: follows the redirect; returns the final HTTP status. */
function browse(url: string): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['--silent', '--location', '--max-time', '30', '--cacert', caFile, '--write-out', '\n%{http_code}', url], (error, stdout) => {
      if (error) return reject(error);
      const lines = stdout.split('\n');
      resolve({ status: lines.pop()!, body: lines.join('\n') });
    });
  });
}

async function authorize(state: string, extra: Record<string, string> = {}): Promise<{ url: string; verifier: string }> {
  const pca = publicClient(sandbox, app);
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const url = await pca.getAuthCodeUrl({ scopes: MAIL_SCOPES, redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256', state, ...extra });
  return { url, verifier };
}

describe('authorization code flow with PKCE', () => {
  it('redirects the browser to the loopback URI with code and state; MSAL redeems the code with its verifier', async () => {
    const { url, verifier } = await authorize('state-1', { loginHint: UPN, prompt: 'login' });
    expect(new URL(url).searchParams.get('login_hint')).toBe(UPN);
    expect(await browse(url)).toEqual({ status: '200', body: 'You can close this window.' });
    const query = received.get('state-1')!;
    expect(query.get('code')).toEqual(expect.any(String));
    const pca = publicClient(sandbox, app);
    const result = await pca.acquireTokenByCode({ code: query.get('code')!, redirectUri, scopes: MAIL_SCOPES, codeVerifier: verifier });
    expect(result.account).toMatchObject({ username: UPN, name: 'Grace Hopper', homeAccountId: `${user.objectId}.${sandbox.tenantId}` });
    expect(claimsOf(result.accessToken)).toMatchObject({ upn: UPN, oid: user.objectId, scp: 'IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send' });
    // the refresh token came along: a silent renewal works
    const renewed = await pca.acquireTokenSilent({ account: result.account!, scopes: MAIL_SCOPES, forceRefresh: true });
    expect(claimsOf(renewed.accessToken).upn).toBe(UPN);
    // a code is good once
    const again = await pca.acquireTokenByCode({ code: query.get('code')!, redirectUri, scopes: MAIL_SCOPES, codeVerifier: verifier }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ServerError);
    expect(again).toMatchObject({ errorCode: 'invalid_grant', errorNo: 54005 });
  });

  it('without login_hint, signs in whoever setBrowserUser says; nobody signed in: a sign-in page and no redirect', async () => {
    sandbox.setBrowserUser(undefined);
    const nobody = await authorize('state-2');
    const page = await browse(nobody.url);
    expect(page.status).toBe('200');
    expect(page.body).toContain('nobody is signed in');
    expect(received.has('state-2')).toBe(false);
    const silent = await authorize('state-2b', { prompt: 'none' });
    await browse(silent.url);
    expect(received.get('state-2b')?.get('error')).toBe('login_required');
    sandbox.setBrowserUser(UPN);
    const { url, verifier } = await authorize('state-3');
    await browse(url);
    const result = await publicClient(sandbox, app).acquireTokenByCode({ code: received.get('state-3')!.get('code')!, redirectUri, scopes: MAIL_SCOPES, codeVerifier: verifier });
    expect(result.account?.username).toBe(UPN);
  });

  it('refuses a wrong code_verifier (501481) and a different redirect_uri (50011)', async () => {
    const { url, verifier } = await authorize('state-4', { loginHint: UPN });
    await browse(url);
    const code = received.get('state-4')!.get('code')!;
    const tokenPath = `/${sandbox.tenantId}/oauth2/v2.0/token`;
    const form = { grant_type: 'authorization_code', client_id: app.clientId, code, redirect_uri: redirectUri, scope: MAIL_SCOPES.join(' ') };
    const wrongRedirect = await httpsJson(sandbox, tokenPath, { ...form, redirect_uri: 'http://127.0.0.1:1/', code_verifier: verifier });
    expect(wrongRedirect).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_codes: [50011] } });
    const { url: url2, verifier: verifier2 } = await authorize('state-5', { loginHint: UPN });
    await browse(url2);
    const wrongVerifier = await httpsJson(sandbox, tokenPath, { ...form, code: received.get('state-5')!.get('code')!, code_verifier: `${verifier2}x` });
    expect(wrongVerifier).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_codes: [501481] } });
    expect(wrongVerifier.body.error_description).toMatch(/^AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request\.\r\n/);
  });

  it('shows an error page for a redirect URI that is not registered, and redirects with access_denied when the person declines', async () => {
    const pca = publicClient(sandbox, app);
    const foreign = await pca.getAuthCodeUrl({ scopes: MAIL_SCOPES, redirectUri: 'https://evil.example/callback', loginHint: UPN });
    const page = await browse(foreign);
    expect(page.status).toBe('400');
    expect(page.body).toContain('AADSTS50011: The redirect URI &#39;https://evil.example/callback&#39; specified in the request does not match');
    sandbox.setBrowserUser(UPN, { decline: true });
    const { url } = await authorize('state-6');
    await browse(url);
    const query = received.get('state-6')!;
    expect(query.get('code')).toBeNull();
    expect(query.get('error')).toBe('access_denied');
    expect(query.get('error_description')).toMatch(/^AADSTS65004: /);
    sandbox.setBrowserUser(undefined);
  });
});
