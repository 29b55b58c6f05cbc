// Checks a client_assertion (certificate credential) the way Entra does: a JWT signed with the
// private key of the certificate registered on the app, naming the app as iss and sub, aimed at
// the token endpoint, and currently valid.
import { X509Certificate } from 'node:crypto';
import { thumbprints } from '../certificate.js';
import { decodeJwt, nowSeconds, verifyJwtSignature } from '../jwt.js';
import type { SandboxApp } from '../types.js';
import { entraError, type EntraError } from './errors.js';

/** Entra tolerates five minutes of clock skew on assertions. */
const SKEW_SECONDS = 300;

export function checkClientAssertion(app: SandboxApp, assertion: string, audiences: string[], correlationId: string): EntraError | undefined {
  const invalid = (code: number, message: string): EntraError => entraError(401, 'invalid_client', code, message, correlationId);
  const jwt = decodeJwt(assertion);
  if (!jwt) return entraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.', correlationId);

  const certificate = parseCertificate(app.certificatePem);
  const headerThumbprint = typeof jwt.header['x5t#S256'] === 'string' ? jwt.header['x5t#S256'] : typeof jwt.header.x5t === 'string' ? jwt.header.x5t : undefined;
  if (!certificate || (headerThumbprint !== undefined && !matches(certificate, headerThumbprint))) {
    return invalid(700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${headerThumbprint ?? ''}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'.]`);
  }
  if (!verifyJwtSignature(jwt, certificate.publicKey, ['RS256', 'PS256'])) {
    return invalid(700027, 'Client assertion failed signature validation.');
  }

  const { iss, sub, aud, exp, nbf } = jwt.claims;
  if (iss !== app.clientId || sub !== app.clientId) {
    return invalid(700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .");
  }
  const audienceList = Array.isArray(aud) ? aud : [aud];
  if (!audienceList.some((a) => typeof a === 'string' && audiences.includes(a.replace(/\/$/, '')))) {
    return invalid(700212, `Client assertion audience claim does not match Realm issuer. Expected one of: ${audiences.join(', ')}.`);
  }
  const now = nowSeconds();
  if (typeof exp !== 'number' || exp + SKEW_SECONDS < now || (typeof nbf === 'number' && nbf - SKEW_SECONDS > now)) {
    return invalid(700024, `Client assertion is not within its valid time range. Current time: ${new Date(now * 1000).toISOString()}, expiry time of assertion ${typeof exp === 'number' ? new Date(exp * 1000).toISOString() : 'missing'}.`);
  }
  return undefined;
}

/** MSAL sends `x5t#S256` (SHA-256); older libraries `x5t` (SHA-1). Either names the certificate. */
function matches(certificate: X509Certificate, thumbprint: string): boolean {
  const known = thumbprints(Buffer.from(certificate.raw));
  return thumbprint === known.x5t || thumbprint === known.x5tS256;
}

function parseCertificate(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}
