import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../../src/sandbox/certificate.js';
import { startSandbox, type Sandbox, type SandboxApp } from '../../src/sandbox/index.js';
import { signJwt } from '../../src/sandbox/jwt.js';
import { claimsOf, httpsJson, tokenPath } from './helpers.js';

let sandbox: Sandbox;
let app: SandboxApp;
const SCOPE = 'https://outlook.office365.com/.default';

beforeAll(async () => {
  sandbox = await startSandbox({ tokenLifetimeSeconds: 1800 });
  app = sandbox.registerApp({});
});
afterAll(() => sandbox?.close());

const form = (overrides: Record<string, string> = {}): Record<string, string> => ({
  client_id: app.clientId, client_secret: app.clientSecret!, scope: SCOPE, grant_type: 'client_credentials', ...overrides,
});

describe('fake Entra ID', () => {
  it('publishes OpenID metadata and the signing keys', async () => {
    const config = await httpsJson(sandbox, `/${sandbox.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({
      token_endpoint: `${sandbox.authorityHost}/${sandbox.tenantId}/oauth2/v2.0/token`,
      issuer: `${sandbox.authorityHost}/${sandbox.tenantId}/v2.0`,
      jwks_uri: `${sandbox.authorityHost}/${sandbox.tenantId}/discovery/v2.0/keys`,
    });
    const keys = await httpsJson(sandbox, `/${sandbox.tenantId}/discovery/v2.0/keys`);
    expect(keys.body.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', kid: expect.any(String), n: expect.any(String) });
    const unknown = await httpsJson(sandbox, '/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error_codes).toEqual([90002]);
  });

  it('issues an app-only JWT with Entra\'s claims, signed by the published key', async () => {
    const before = sandbox.stats.tokenRequests;
    const answer = await httpsJson(sandbox, tokenPath(sandbox), form());
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 1800, ext_expires_in: 1800 });
    expect(sandbox.stats.tokenRequests).toBe(before + 1);
    const token = answer.body.access_token as string;
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const headerJson = JSON.parse(Buffer.from(header, 'base64url').toString());
    expect(headerJson).toMatchObject({ typ: 'JWT', alg: 'RS256' });
    const claims = claimsOf(token);
    const now = Math.floor(Date.now() / 1000);
    expect(claims).toMatchObject({
      aud: 'https://outlook.office365.com',
      iss: `https://sts.windows.net/${sandbox.tenantId}/`,
      appid: app.clientId, appidacr: '1', idtyp: 'app', oid: app.objectId, sub: app.objectId, tid: sandbox.tenantId, ver: '1.0',
      roles: ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'],
    });
    expect(Math.abs(claims.iat - (now - 300))).toBeLessThan(5);
    expect(Math.abs(claims.exp - (now + 1800))).toBeLessThan(5);
    const jwks = await httpsJson(sandbox, `/${sandbox.tenantId}/discovery/v2.0/keys`);
    const jwk = jwks.body.keys.find((k: { kid: string }) => k.kid === headerJson.kid);
    const publicKey = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
    expect(verify('sha256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))).toBe(true);
    // every token is unique
    const again = await httpsJson(sandbox, tokenPath(sandbox), form());
    expect(again.body.access_token).not.toBe(token);
  });

  it('leaves out the roles claim when no role was consented', async () => {
    const bare = sandbox.registerApp({ roles: [] });
    const answer = await httpsJson(sandbox, tokenPath(sandbox), form({ client_id: bare.clientId, client_secret: bare.clientSecret! }));
    expect(claimsOf(answer.body.access_token)).not.toHaveProperty('roles');
  });

  it('answers like Entra when the request is wrong', async () => {
    const badSecret = await httpsJson(sandbox, tokenPath(sandbox), form({ client_secret: 'Wrong~Secret' }));
    expect(badSecret.status).toBe(401);
    expect(badSecret.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(badSecret.body.error_description).toMatch(new RegExp(`^AADSTS7000215: Invalid client secret provided\\. .*'${app.clientId}'\\.\\r\\nTrace ID: \\S+\\r\\nCorrelation ID: \\S+\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`));

    const unknownApp = await httpsJson(sandbox, tokenPath(sandbox), form({ client_id: '11111111-1111-1111-1111-111111111111' }));
    expect(unknownApp.status).toBe(400);
    expect(unknownApp.body).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
    expect(unknownApp.body.error_description).toContain(`was not found in the directory '${sandbox.tenantId}'`);

    const wrongTenant = await httpsJson(sandbox, tokenPath(sandbox, 'contoso.invalid'), form());
    expect(wrongTenant).toMatchObject({ status: 400, body: { error: 'invalid_request', error_codes: [90002] } });

    const grant = await httpsJson(sandbox, tokenPath(sandbox), form({ grant_type: 'password' }));
    expect(grant).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });

    const scope = await httpsJson(sandbox, tokenPath(sandbox), form({ scope: 'https://outlook.office365.com/IMAP.AccessAsApp' }));
    expect(scope).toMatchObject({ status: 400, body: { error: 'invalid_scope', error_codes: [1002012] } });
  });

  it('accepts a certificate credential (PS256 client assertion with x5t#S256)', async () => {
    const certificate = await createSelfSignedCertificate({ commonName: 'proxy-client' });
    const certApp = sandbox.registerApp({ certificatePem: certificate.certPem, clientSecret: undefined });
    const now = Math.floor(Date.now() / 1000);
    const assertion = (claims: Record<string, unknown>, pem = certificate.keyPem) => signJwt(
      { alg: 'PS256', typ: 'JWT', 'x5t#S256': certificate.x5tS256 },
      { aud: `${sandbox.authorityHost}/${sandbox.tenantId}/oauth2/v2.0/token`, iss: certApp.clientId, sub: certApp.clientId, jti: 'x', nbf: now, exp: now + 600, ...claims },
      createPrivateKey(pem),
    );
    const request = (value: string) => httpsJson(sandbox, tokenPath(sandbox), {
      client_id: certApp.clientId, scope: SCOPE, grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: value,
    });
    const ok = await request(assertion({}));
    expect(ok.status).toBe(200);
    expect(claimsOf(ok.body.access_token)).toMatchObject({ appid: certApp.clientId, appidacr: '2' });

    const other = await createSelfSignedCertificate({ commonName: 'someone-else' });
    expect((await request(assertion({}, other.keyPem))).body.error_codes).toEqual([700027]);
    expect((await request(assertion({ exp: now - 3600, nbf: now - 7200 }))).body.error_codes).toEqual([700024]);
    expect((await request(assertion({ iss: app.clientId }))).body.error_codes).toEqual([700021]);
    expect((await request('not.a.jwt')).status).toBe(400);
  });

  it('can be down or slow', async () => {
    sandbox.controls.entraDown = true;
    const down = await httpsJson(sandbox, tokenPath(sandbox), form());
    sandbox.controls.entraDown = false;
    expect(down).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
    expect(down.body.error_description).toMatch(/^AADSTS\d+: /);

    sandbox.controls.entraDelayMs = 300;
    const started = Date.now();
    const slow = await httpsJson(sandbox, tokenPath(sandbox), form());
    sandbox.controls.entraDelayMs = 0;
    expect(slow.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});
