// The client-credentials token endpoint: validates a form the way Entra does, in Entra's
// order (tenant, grant, client, credential, scope), and answers with a token or an AADSTS error.
import { timingSafeEqual } from 'node:crypto';
import type { Directory } from '../directory.js';
import type { SandboxApp } from '../types.js';
import { mintAccessToken } from './access-token.js';
import { checkClientAssertion } from './client-assertion.js';
import { entraError, missingParameter, tenantNotFound, type EntraError } from './errors.js';
import type { SigningKey } from './keys.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** OpenID scopes MSAL may add; they do not name a resource. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

export interface TokenEndpointContext {
  directory: Directory;
  key: SigningKey;
  lifetimeSeconds: number;
  /** Resource whose roles are the Exchange app roles ("https://outlook.office365.com"). */
  exchangeAudience: string;
  /** Resource whose roles are the app's Graph roles: the sandbox's Graph URL, known once listening. */
  graphAudience(): string;
  /** Audiences a client assertion may name (the token endpoint URL and its aliases). */
  assertionAudiences(tenant: string): string[];
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

export function answerTokenRequest(ctx: TokenEndpointContext, tenant: string, form: URLSearchParams, basic: { id: string; secret: string } | undefined, correlationId: string): TokenAnswer {
  const { directory } = ctx;
  if (!directory.isTenant(tenant)) return tenantNotFound(tenant, 'invalid_request', correlationId);

  const grantType = form.get('grant_type');
  if (!grantType) return missingParameter('grant_type', correlationId);
  if (grantType !== 'client_credentials') {
    return entraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`, correlationId);
  }

  const clientId = form.get('client_id') ?? basic?.id;
  if (!clientId) return missingParameter('client_id', correlationId);
  const app = directory.find(clientId);
  if (!app) {
    return entraError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${directory.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`, correlationId);
  }

  const credential = checkCredential(ctx, tenant, app, form, basic, correlationId);
  if ('error' in credential) return credential.error;

  const scope = form.get('scope');
  if (!scope) return missingParameter('scope', correlationId);
  const resources = scope.split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s));
  const resource = resources[0];
  if (resources.length !== 1 || !resource || !resource.endsWith('/.default') || resource === '/.default') {
    return entraError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`, correlationId);
  }
  const audience = resource.slice(0, -'/.default'.length);

  const accessToken = mintAccessToken(ctx.key, {
    app,
    tenantId: directory.tenantId,
    audience,
    lifetimeSeconds: ctx.lifetimeSeconds,
    roles: rolesFor(ctx, app, audience.replace(/\/$/, '')),
    appidacr: credential.acr,
  });
  return { status: 200, body: { token_type: 'Bearer', expires_in: ctx.lifetimeSeconds, ext_expires_in: ctx.lifetimeSeconds, access_token: accessToken } };
}

/** A token carries the roles consented on its resource only: Exchange's and Graph's are separate grants. */
function rolesFor(ctx: TokenEndpointContext, app: SandboxApp, audience: string): readonly string[] {
  if (audience === ctx.exchangeAudience) return app.roles;
  if (audience === ctx.graphAudience()) return app.graphRoles ?? [];
  return [];
}

function checkCredential(ctx: TokenEndpointContext, tenant: string, app: SandboxApp, form: URLSearchParams, basic: { secret: string } | undefined, correlationId: string): { acr: '1' | '2' } | { error: EntraError } {
  const assertion = form.get('client_assertion');
  const secret = form.get('client_secret') ?? basic?.secret;
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== JWT_BEARER) {
      return { error: entraError(400, 'invalid_request', 700022, `The client_assertion_type must be '${JWT_BEARER}'.`, correlationId) };
    }
    const error = checkClientAssertion(app, assertion, ctx.assertionAudiences(tenant), correlationId);
    return error ? { error } : { acr: '2' };
  }
  if (secret === null || secret === undefined) {
    return { error: entraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", correlationId) };
  }
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
