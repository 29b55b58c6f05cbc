// What a delegated sign-in gets from the token endpoint: an access token shaped like Entra's
// v1 user tokens for Exchange (`scp`, `upn`, `oid`, no `roles`), an OpenID id_token (v2) and
// `client_info`, the two MSAL builds its account from (home account ID = uid.utid).
import { createHash, randomBytes } from 'node:crypto';
import { signJwt } from '../jwt.js';
import type { SandboxApp, SandboxUser } from '../types.js';
import { issuerFor, jwtHeader, validityClaims } from './access-token.js';
import type { SigningKey } from './keys.js';

export interface DelegatedTokenRequest {
  app: SandboxApp;
  user: SandboxUser;
  tenantId: string;
  /** The resource the permissions belong to: the token's `aud`. */
  resource: string;
  permissions: string[];
  lifetimeSeconds: number;
}

/** Entra's `sub` is pairwise: stable for one user and app, different between apps. */
const pairwiseSubject = (user: SandboxUser, app: SandboxApp): string =>
  createHash('sha256').update(`${user.objectId}:${app.clientId}`).digest('base64url').slice(0, 43);

export function mintDelegatedAccessToken(key: SigningKey, request: DelegatedTokenRequest): string {
  const { app, user, tenantId } = request;
  const issuer = issuerFor(tenantId);
  const [given, ...family] = user.displayName.split(' ');
  const claims: Record<string, unknown> = {
    aud: request.resource,
    iss: issuer,
    ...validityClaims(request.lifetimeSeconds),
    acct: 0,
    acr: '1',
    aio: randomBytes(48).toString('base64'),
    amr: ['pwd'],
    app_displayname: app.displayName ?? 'o365-mail-proxy',
    appid: app.clientId,
    // "0": a public client, no credential
    appidacr: '0',
    family_name: family.join(' ') || undefined,
    given_name: given,
    idtyp: 'user',
    ipaddr: '127.0.0.1',
    name: user.displayName,
    oid: user.objectId,
    scp: request.permissions.join(' '),
    sid: randomBytes(16).toString('hex'),
    sub: pairwiseSubject(user, app),
    tid: tenantId,
    unique_name: user.upn,
    upn: user.upn,
    ver: '1.0',
  };
  return signJwt(jwtHeader(key), claims, key.privateKey);
}

export function mintIdToken(key: SigningKey, request: { app: SandboxApp; user: SandboxUser; tenantId: string; issuer: string; nonce?: string }): string {
  const { app, user, tenantId } = request;
  const claims: Record<string, unknown> = {
    aud: app.clientId,
    iss: request.issuer,
    ...validityClaims(3600),
    name: user.displayName,
    oid: user.objectId,
    preferred_username: user.upn,
    sid: randomBytes(16).toString('hex'),
    sub: pairwiseSubject(user, app),
    tid: tenantId,
    ver: '2.0',
  };
  if (request.nonce) claims.nonce = request.nonce;
  return signJwt(jwtHeader(key), claims, key.privateKey);
}

/** base64url JSON {uid, utid}: the user's object ID and tenant ID. */
export const clientInfo = (user: SandboxUser, tenantId: string): string =>
  Buffer.from(JSON.stringify({ uid: user.objectId, utid: tenantId })).toString('base64url');
