// Mints app-only access tokens shaped like Entra's v1 tokens for Exchange Online and Graph (the ones
// the proxy decodes to explain failures: appid, oid, roles, tid, ...).
import { randomBytes } from 'node:crypto';
import { nowSeconds, signJwt } from '../jwt.js';
import type { SandboxApp } from '../types.js';
import type { SigningKey } from './keys.js';

export interface TokenRequest {
  app: SandboxApp;
  tenantId: string;
  /** The scope minus "/.default". */
  audience: string;
  lifetimeSeconds: number;
  /** The app roles consented on this resource (Exchange's or Graph's); [] for any other. */
  roles: readonly string[];
  /** "1" = client secret, "2" = certificate. */
  appidacr: '1' | '2';
}

export const issuerFor = (tenantId: string): string => `https://sts.windows.net/${tenantId}/`;

/** The header of every token the sandbox's Entra signs. */
export const jwtHeader = (key: SigningKey) => ({ typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid });

/** The claims every Entra token has: its validity window and two per-token random values. */
export function validityClaims(lifetimeSeconds: number): Record<string, unknown> {
  const now = nowSeconds();
  return {
    // Entra backdates iat/nbf by five minutes to absorb clock skew.
    iat: now - 300,
    nbf: now - 300,
    exp: now + lifetimeSeconds,
    rh: `1.${randomBytes(32).toString('base64url')}.`,
    // unique per token, like Entra's
    uti: randomBytes(16).toString('base64url'),
  };
}

export function mintAccessToken(key: SigningKey, request: TokenRequest): string {
  const { app, tenantId } = request;
  const issuer = issuerFor(tenantId);
  const claims: Record<string, unknown> = {
    aud: request.audience,
    iss: issuer,
    ...validityClaims(request.lifetimeSeconds),
    aio: randomBytes(48).toString('base64'),
    app_displayname: app.displayName ?? 'o365-mail-proxy',
    appid: app.clientId,
    appidacr: request.appidacr,
    idp: issuer,
    idtyp: 'app',
    oid: app.objectId,
    sub: app.objectId,
    tid: tenantId,
    ver: '1.0',
  };
  // Like Entra: no `roles` claim at all when nothing was consented.
  if (request.roles.length > 0) claims.roles = [...request.roles];
  return signJwt(jwtHeader(key), claims, key.privateKey);
}
