// How a client proves who it is at the token endpoint: a client secret (in the form or HTTP
// Basic) or a certificate-signed client_assertion. Public clients send neither.
import { timingSafeEqual } from 'node:crypto';
import type { SandboxApp } from '../types.js';
import { checkClientAssertion } from './client-assertion.js';
import { entraError, type EntraError } from './errors.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type BasicCredentials = { id: string; secret: string } | undefined;

/** True when the request carries a client credential of any kind. */
export const hasCredential = (form: URLSearchParams, basic: BasicCredentials): boolean =>
  form.has('client_assertion') || form.has('client_secret') || basic !== undefined;

/** Entra's answer to a credential-less request from an app that does not allow public client flows. */
export const publicClientNotAllowed = (correlationId: string): EntraError =>
  entraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", correlationId);

/** Checks the credential; acr "1" = secret, "2" = certificate. */
export function checkCredential(app: SandboxApp, form: URLSearchParams, basic: BasicCredentials, assertionAudiences: string[], correlationId: string): { acr: '1' | '2' } | { error: EntraError } {
  const assertion = form.get('client_assertion');
  const secret = form.get('client_secret') ?? basic?.secret;
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== JWT_BEARER) {
      return { error: entraError(400, 'invalid_request', 700022, `The client_assertion_type must be '${JWT_BEARER}'.`, correlationId) };
    }
    const error = checkClientAssertion(app, assertion, assertionAudiences, correlationId);
    return error ? { error } : { acr: '2' };
  }
  if (secret === null || secret === undefined) return { error: publicClientNotAllowed(correlationId) };
  if (!app.clientSecret || !sameText(secret, app.clientSecret)) {
    return { error: entraError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`, correlationId) };
  }
  return { acr: '1' };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
