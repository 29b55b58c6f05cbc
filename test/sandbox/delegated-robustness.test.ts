// Bad input to the delegated endpoints gets Entra's kind of answer (a 4xx with an AADSTS
// code, or an error page), never a 500 or a crash; a sign-in works afterwards.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxApp } from '../../src/sandbox/index.js';
import { httpsJson, MAIL_SCOPES, signInWithDeviceCode, tokenPath } from './helpers.js';

const UPN = 'ada@contoso.test';
let sandbox: Sandbox;
let app: SandboxApp;

beforeAll(async () => {
  sandbox = await startSandbox();
  app = sandbox.registerApp({ clientSecret: undefined, allowPublicClient: true });
  sandbox.addUser(UPN);
});
afterAll(() => sandbox?.close());

function get(path: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${sandbox.authorityHost}${path}`, { ca: sandbox.caPem }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('delegated endpoints and bad input', () => {
  it('authorize: odd or hostile parameters get an error page or an error redirect', async () => {
    const base = `/${sandbox.tenantId}/oauth2/v2.0/authorize?client_id=${app.clientId}`;
    const loopback = encodeURIComponent('http://127.0.0.1:5000/');
    const cases: Array<[string, number, RegExp | undefined]> = [
      [`/${sandbox.tenantId}/oauth2/v2.0/authorize`, 400, undefined],
      [`${base}&redirect_uri=%E0%A4%A`, 400, undefined],
      [`${base}&redirect_uri=${encodeURIComponent('javascript:alert(1)')}`, 400, undefined],
      [`${base}&redirect_uri=${encodeURIComponent('http://127.0.0.1.evil.example/')}`, 400, undefined],
      [`${base}&redirect_uri=${loopback}&response_type=token&scope=openid`, 302, /error=unsupported_response_type/],
      [`${base}&redirect_uri=${loopback}&response_type=code&scope=%20%20`, 302, /error=invalid_request/],
      [`${base}&redirect_uri=${loopback}&response_type=code&scope=${encodeURIComponent(MAIL_SCOPES[0]!)}&code_challenge=x&code_challenge_method=S512`, 302, /error=invalid_request/],
      [`${base}&redirect_uri=${loopback}&response_type=code&scope=${'a/b%20'.repeat(2000)}c/d&login_hint=${UPN}`, 302, /error=invalid_scope/],
    ];
    for (const [path, status, location] of cases) {
      const answer = await get(path);
      expect(answer.status, path).toBe(status);
      if (location) expect(answer.location, path).toMatch(location);
    }
  });

  it('token and device code endpoints: empty, unknown and oversized values get 4xx answers', async () => {
    const token = tokenPath(sandbox);
    const forms: Array<Record<string, string>> = [
      { grant_type: 'refresh_token', client_id: app.clientId },
      { grant_type: 'refresh_token', client_id: app.clientId, refresh_token: '', scope: MAIL_SCOPES[0]! },
      { grant_type: 'refresh_token', client_id: app.clientId, refresh_token: '\u0000\u00ff"\'<', scope: MAIL_SCOPES[0]! },
      { grant_type: 'refresh_token', client_id: app.clientId, refresh_token: 'x'.repeat(300_000), scope: MAIL_SCOPES[0]! },
      { grant_type: 'authorization_code', client_id: app.clientId, code: 'nope', redirect_uri: 'http://127.0.0.1/', scope: MAIL_SCOPES[0]! },
      { grant_type: 'device_code', client_id: app.clientId, device_code: '' },
      { grant_type: 'device_code', client_id: app.clientId, device_code: '%%%' },
    ];
    for (const form of forms) {
      const answer = await httpsJson(sandbox, token, form);
      expect(answer.status, JSON.stringify(form).slice(0, 100)).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.body.error_codes).toEqual([expect.any(Number)]);
    }
    const devicecode = `/${sandbox.tenantId}/oauth2/v2.0/devicecode`;
    const deviceForms: Array<Record<string, string>> = [{}, { client_id: app.clientId, scope: '' }, { client_id: 'not-a-guid', scope: 'openid' }];
    for (const form of deviceForms) {
      const answer = await httpsJson(sandbox, devicecode, form);
      expect(answer.status).toBe(400);
    }
    expect((await signInWithDeviceCode(sandbox, app, UPN)).access_token).toEqual(expect.any(String));
  });
});
