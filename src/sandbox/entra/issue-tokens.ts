// The successful answer of a delegated grant: access token for the one resource asked for,
// refresh token with offline_access, id_token with openid, client_info when the client asks
// (client_info=1, as MSAL does). Exchange permissions must be consented on the app (65001).
import type { Directory } from '../directory.js';
import type { SandboxApp, SandboxStats, SandboxUser } from '../types.js';
import { clientInfo, mintDelegatedAccessToken, mintIdToken } from './delegated-token.js';
import type { EntraError } from './errors.js';
import type { SigningKey } from './keys.js';
import { grantedScopeText, parseScopes } from './scopes.js';
import { consentRequired } from './sign-in-failures.js';
import type { SignIns } from './sign-ins.js';

export interface DelegatedContext {
  directory: Directory;
  key: SigningKey;
  signIns: SignIns;
  stats: SandboxStats;
  lifetimeSeconds: number;
  deviceCodeLifetimeSeconds: number;
  deviceCodeIntervalSeconds: number;
  /** Resources Exchange accepts tokens for, lower case without trailing slash. */
  exchangeResources: Set<string>;
  /** The v2 issuer of id_tokens ("https://127.0.0.1:PORT/{tenant}/v2.0"). */
  idTokenIssuer(): string;
}

export interface IssueRequest {
  app: SandboxApp;
  user: SandboxUser;
  /** The scope the client asked for now (or, for a device code, when it asked for the code). */
  scope: string;
  /** form.client_info === '1' */
  wantsClientInfo: boolean;
  nonce?: string;
  /** A refresh grant: answered with a new refresh token even without offline_access. */
  rotate?: boolean;
  /** A public client's code flow through a desktop redirect URI (its refresh tokens need no "Allow public client flows"). */
  nativeRedirect?: boolean;
  correlationId: string;
}

export function issueTokens(ctx: DelegatedContext, request: IssueRequest): { status: 200; body: Record<string, unknown> } | EntraError {
  const { app, user, correlationId } = request;
  const scopes = parseScopes(request.scope, correlationId);
  if ('status' in scopes) return scopes;
  let permissions = scopes.permissions;
  if (ctx.exchangeResources.has(scopes.resource)) {
    const consented = app.delegatedScopes ?? [];
    if (scopes.isDefault) permissions = [...consented];
    const canonical = permissions.map((p) => consented.find((c) => c.toLowerCase() === p.toLowerCase()));
    if (canonical.some((c) => c === undefined) || permissions.length === 0) return consentRequired(app, correlationId);
    permissions = canonical as string[];
  }
  const tenantId = ctx.directory.tenantId;
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: grantedScopeText(scopes.resource, permissions, scopes.oidc),
    expires_in: ctx.lifetimeSeconds,
    ext_expires_in: ctx.lifetimeSeconds,
    access_token: mintDelegatedAccessToken(ctx.key, { app, user, tenantId, resource: scopes.resource, permissions, lifetimeSeconds: ctx.lifetimeSeconds }),
  };
  if (scopes.oidc.has('offline_access') || request.rotate) {
    body.refresh_token = ctx.signIns.newRefreshToken({ clientId: app.clientId, userObjectId: user.objectId, generation: ctx.directory.signInGeneration(user), issuedAt: Date.now(), ...(request.nativeRedirect ? { nativeRedirect: true } : {}) });
  }
  if (scopes.oidc.has('openid')) {
    body.id_token = mintIdToken(ctx.key, { app, user, tenantId, issuer: ctx.idTokenIssuer(), ...(request.nonce ? { nonce: request.nonce } : {}) });
  }
  if (request.wantsClientInfo) body.client_info = clientInfo(user, tenantId);
  return { status: 200, body };
}
