import { X509Certificate, createPrivateKey } from 'node:crypto';
import { Secret } from './secret.js';
import type { CloudDefaults } from './clouds.js';
import type { AppConfig, AppCredential } from './types.js';
import { asObject, type JsonObject, type Validator } from './validator.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A tenant's domain: two or more labels, e.g. contoso.onmicrosoft.com or contoso.com. */
const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i;
/** A GUID of one repeated digit (00000000-0000-…, 11111111-1111-…): config.example.json's placeholders, never a real ID. */
const PLACEHOLDER_GUID = /^([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}$/i;
const PLACEHOLDER = 'is the placeholder from config.example.json';

/**
 * The app registrations, their credentials read and checked, their endpoints from the cloud.
 * `appOnlyUsers`: per app, the accounts with auth "app" that use it (none for an unused app). An
 * app missing from it is used by delegated accounts alone: a public client, which needs no
 * credential (a person signs in for each account) and may use a multi-tenant authority.
 */
export function checkApps(v: Validator, value: unknown, cloud: CloudDefaults, appOnlyUsers: ReadonlyMap<string, string[]>, graphUrl: string): Map<string, AppConfig> {
  const apps = new Map<string, AppConfig>();
  for (const [name, raw] of Object.entries(asObject(value) ?? {})) {
    const app = checkApp(v, name, asObject(raw), cloud, appOnlyUsers.get(name), graphUrl);
    if (app) apps.set(name, app);
  }
  return apps;
}

function checkApp(v: Validator, name: string, raw: JsonObject | undefined, cloud: CloudDefaults, appOnlyUsers: string[] | undefined, graphUrl: string): AppConfig | undefined {
  if (!raw) return undefined;
  const key = `apps.${name}`;
  const tenantId = checkTenantId(v, `${key}.tenantId`, v.text(raw.tenantId, `${key}.tenantId`), appOnlyUsers !== undefined);
  const clientId = v.text(raw.clientId, `${key}.clientId`);
  if (clientId && PLACEHOLDER_GUID.test(clientId)) v.problem(`${key}.clientId`, PLACEHOLDER, 'replace the placeholder with your Application (client) ID, from the app registration\'s Overview page');
  else if (clientId && !GUID.test(clientId)) v.problem(`${key}.clientId`, `"${clientId}" is not a GUID`, 'copy the Application (client) ID, a GUID like 3f2a9c4e-8b1d-4e7f-a6c5-0d9e8f7a6b5c, from the app registration\'s Overview page');
  const credential = checkCredential(v, key, raw, appOnlyUsers);
  // The cloud's endpoints are the defaults, which is why the schema cannot hold them.
  const authorityHost = v.httpsUrl(raw.authorityHost ?? cloud.authorityHost, `${key}.authorityHost`);
  const scope = v.text(raw.scope ?? cloud.scope, `${key}.scope`);
  if (scope && !scope.endsWith('/.default')) v.problem(`${key}.scope`, 'must end in "/.default" for the client-credentials flow', `use ${cloud.scope}`);
  const graphScope = v.text(raw.graphScope ?? `${graphUrl}/.default`, `${key}.graphScope`);
  if (graphScope && !graphScope.endsWith('/.default')) v.problem(`${key}.graphScope`, 'must end in "/.default" for the client-credentials flow', `use ${graphUrl}/.default`);
  if (!tenantId || !clientId || !credential || !authorityHost || !scope || !graphScope) return undefined;
  return { name, tenantId, clientId, credential, authorityHost, scope, graphScope };
}

/**
 * A tenant ID is a GUID or one of the tenant's domains; anything else fails only at the first
 * token request, as AADSTS900023 or 90002. Returned only when usable.
 */
function checkTenantId(v: Validator, key: string, tenantId: string | undefined, clientCredentials: boolean): string | undefined {
  if (tenantId === undefined) return undefined;
  // A person's sign-in may go through a multi-tenant authority (consumers: personal Microsoft accounts).
  if (!clientCredentials && MULTI_TENANT.includes(tenantId.toLowerCase())) return tenantId.toLowerCase();
  const wrong = tenantIdProblem(tenantId);
  if (wrong === undefined) return tenantId;
  v.problem(key, wrong, wrong === PLACEHOLDER
    ? 'replace the placeholder with your Directory (tenant) ID, from the app registration\'s Overview page, or the tenant\'s domain'
    : 'copy the Directory (tenant) ID, a GUID like 3f2a9c4e-8b1d-4e7f-a6c5-0d9e8f7a6b5c, from the app registration\'s Overview page, or use the tenant\'s domain such as contoso.onmicrosoft.com');
  return undefined;
}

const MULTI_TENANT = ['common', 'organizations', 'consumers'];

function tenantIdProblem(tenantId: string): string | undefined {
  if (MULTI_TENANT.includes(tenantId.toLowerCase())) return `"${tenantId}" does not work with the client-credentials flow`;
  if (PLACEHOLDER_GUID.test(tenantId)) return PLACEHOLDER;
  if (GUID.test(tenantId) || DOMAIN.test(tenantId)) return undefined;
  // Hex digits and dashes only: a GUID with a digit lost or added in copying.
  if (/^[0-9a-f-]+$/i.test(tenantId) && tenantId.includes('-')) {
    return `"${tenantId}" is not a GUID: a tenant ID has 36 characters, hex digits grouped 8-4-4-4-12 (this one has ${tenantId.length})`;
  }
  return `"${tenantId}" is neither a GUID nor a domain name`;
}

/** One of clientSecret and certificate; neither only for a public client (no account with auth "app" uses it). */
function checkCredential(v: Validator, key: string, raw: JsonObject, appOnlyUsers: string[] | undefined): AppCredential | undefined {
  const certificate = asObject(raw.certificate);
  if (certificate && raw.clientSecret !== undefined) {
    v.problem(key, 'has both clientSecret and certificate', 'keep one of them');
    return undefined;
  }
  if (certificate) return checkCertificateCredential(v, `${key}.certificate`, certificate);
  if (raw.clientSecret === undefined) {
    if (appOnlyUsers === undefined) return { kind: 'none' };
    const users = appOnlyUsers.length > 0 ? `, which ${appOnlyUsers.map((u) => `accounts.${u}`).join(', ')} (auth "app") need` : '';
    v.problem(key, `has neither clientSecret nor certificate${users}`, 'add one of them: "clientSecret": "${env:CONTOSO_CLIENT_SECRET}" or "certificate": {"keyFile": "app.key", "certFile": "app.crt"}; or set "auth": "delegated" on those accounts');
    return undefined;
  }
  const secret = v.text(raw.clientSecret, `${key}.clientSecret`);
  if (secret === undefined) return undefined;
  if (GUID.test(secret)) {
    v.problem(`${key}.clientSecret`, 'looks like a GUID, which is the secret\'s ID, not its value', 'copy the Value column when creating the client secret (it is shown only once)');
  }
  return { kind: 'secret', clientSecret: new Secret(secret) };
}

function checkCertificateCredential(v: Validator, key: string, raw: JsonObject): AppCredential | undefined {
  const keyPem = v.pemFile(raw.keyFile, `${key}.keyFile`, 'PRIVATE KEY');
  const certificatePem = v.pemFile(raw.certFile, `${key}.certFile`, 'CERTIFICATE');
  if (!keyPem || !certificatePem) return undefined;
  try {
    createPrivateKey(keyPem);
  } catch {
    v.problem(`${key}.keyFile`, 'is not a readable PEM private key (encrypted keys are not supported)', 'export the key unencrypted in PEM format');
    return undefined;
  }
  try {
    // MSAL wants the SHA-256 thumbprint as plain hex, computed over the DER certificate.
    const thumbprintSha256 = new X509Certificate(certificatePem).fingerprint256.replaceAll(':', '');
    return { kind: 'certificate', privateKey: new Secret(keyPem), certificatePem, thumbprintSha256 };
  } catch {
    v.problem(`${key}.certFile`, 'is not a readable PEM certificate', 'use the certificate uploaded to the app registration, in PEM format');
    return undefined;
  }
}
