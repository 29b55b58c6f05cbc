// The token endpoint: validates a form the way Entra does, in Entra's order (tenant, grant,
// client, credential, scope), and answers with tokens or an AADSTS error. Client credentials
// are handled here; the delegated grants (device code, authorization code, refresh token) in
// delegated-grants.ts.
import type { Directory } from '../directory.js';
import type { SandboxApp } from '../types.js';
import { mintAccessToken } from './access-token.js';
import { checkCredential, type BasicCredentials } from './client-credential.js';
import { answerDelegatedGrant, DELEGATED_GRANTS, type DelegatedContext } from './delegated-grants.js';
import { entraError, missingParameter, tenantNotFound } from './errors.js';
import type { SigningKey } from './keys.js';
import { OIDC_SCOPES } from './scopes.js';

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
  delegated: DelegatedContext;
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

export function answerTokenRequest(ctx: TokenEndpointContext, tenant: string, form: URLSearchParams, basic: BasicCredentials, correlationId: string): TokenAnswer {
  const { directory } = ctx;
  if (!directory.acceptsSignIn(tenant)) return tenantNotFound(tenant, 'invalid_request', correlationId);

  const grantType = form.get('grant_type');
  if (!grantType) return missingParameter('grant_type', correlationId);
  // client credentials need the tenant itself (exchange-online.md: "common" fails for them)
  if (grantType === 'client_credentials' && !directory.isTenant(tenant)) return tenantNotFound(tenant, 'invalid_request', correlationId);
  if (grantType !== 'client_credentials' && !DELEGATED_GRANTS.has(grantType)) {
    return entraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`, correlationId);
  }

  const clientId = form.get('client_id') ?? basic?.id;
  if (!clientId) return missingParameter('client_id', correlationId);
  const app = directory.find(clientId);
  if (!app) {
    return entraError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${directory.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`, correlationId);
  }
  if (grantType !== 'client_credentials') return answerDelegatedGrant(ctx.delegated, app, grantType, form, basic, ctx.assertionAudiences(tenant), correlationId);

  const credential = checkCredential(app, form, basic, ctx.assertionAudiences(tenant), correlationId);
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
