import { X509Certificate, createPrivateKey } from 'node:crypto';
import { Secret } from './secret.js';
import type { CloudDefaults } from './clouds.js';
import type { AppConfig, AppCredential } from './types.js';
import { asObject, type JsonObject, type Validator } from './validator.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The app registrations, their credentials read and checked, their endpoints from the cloud. */
export function checkApps(v: Validator, value: unknown, cloud: CloudDefaults): Map<string, AppConfig> {
  const apps = new Map<string, AppConfig>();
  for (const [name, raw] of Object.entries(asObject(value) ?? {})) {
    const app = checkApp(v, name, asObject(raw), cloud);
    if (app) apps.set(name, app);
  }
  return apps;
}

function checkApp(v: Validator, name: string, raw: JsonObject | undefined, cloud: CloudDefaults): AppConfig | undefined {
  if (!raw) return undefined;
  const key = `apps.${name}`;
  const tenantId = v.text(raw.tenantId, `${key}.tenantId`);
  if (tenantId && ['common', 'organizations', 'consumers'].includes(tenantId.toLowerCase())) {
    v.problem(`${key}.tenantId`, `"${tenantId}" does not work with the client-credentials flow`, 'use the Directory (tenant) ID GUID or the tenant\'s domain');
  }
  const clientId = v.text(raw.clientId, `${key}.clientId`);
  if (clientId && !GUID.test(clientId)) v.problem(`${key}.clientId`, `"${clientId}" is not a GUID`, 'copy the Application (client) ID, a GUID like 00000000-0000-0000-0000-000000000000');
  const credential = checkCredential(v, key, raw);
  // The cloud's endpoints are the defaults, which is why the schema cannot hold them.
  const authorityHost = v.httpsUrl(raw.authorityHost ?? cloud.authorityHost, `${key}.authorityHost`);
  const scope = v.text(raw.scope ?? cloud.scope, `${key}.scope`);
  if (scope && !scope.endsWith('/.default')) v.problem(`${key}.scope`, 'must end in "/.default" for the client-credentials flow', `use ${cloud.scope}`);
  if (!tenantId || !clientId || !credential || !authorityHost || !scope) return undefined;
  return { name, tenantId, clientId, credential, authorityHost, scope };
}

/** Having exactly one of clientSecret and certificate is the schema's to check. */
function checkCredential(v: Validator, key: string, raw: JsonObject): AppCredential | undefined {
  const certificate = asObject(raw.certificate);
  if (certificate && raw.clientSecret !== undefined) return undefined;
  if (certificate) return checkCertificateCredential(v, `${key}.certificate`, certificate);
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
