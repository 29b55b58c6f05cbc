// Graph's side of a bearer token: signed by this tenant's Entra, current, and for Graph (its
// audience is the Graph URL: a token for Outlook/IMAP/SMTP does not work here, and a Graph
// token does not work there). The permission checks (roles) come later, per operation.
import { issuerFor } from '../entra/access-token.js';
import type { SigningKey } from '../entra/keys.js';
import type { Directory } from '../directory.js';
import { decodeJwt, nowSeconds, verifyJwtSignature } from '../jwt.js';
import type { SandboxApp } from '../types.js';
import { graphError, type GraphAnswer } from './answer.js';

export interface GraphCaller {
  app: SandboxApp;
  roles: string[];
}

export interface GraphTokenContext {
  directory: Directory;
  key: SigningKey;
  /** The Graph URL, which Graph tokens name as `aud`. */
  audience(): string;
}

/** Graph's 401 names the resource and the authority to get a token from. */
const CHALLENGE = { 'www-authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"' };

const invalidToken = (message: string): GraphAnswer => graphError(401, 'InvalidAuthenticationToken', message, CHALLENGE);

export function checkGraphToken(ctx: GraphTokenContext, authorization: string | undefined): GraphCaller | GraphAnswer {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!token) return invalidToken('Access token is empty.');
  const jwt = decodeJwt(token);
  // Graph's own wording for a token that is not a JWT names IDX14100; the sandbox keeps to the
  // general text it uses for any token it cannot validate (an assumption, harmless for clients).
  if (!jwt || !verifyJwtSignature(jwt, ctx.key.publicKey, ['RS256'])) return invalidToken('Access token validation failure.');
  const { exp, nbf, aud, tid, iss, roles, appid } = jwt.claims;
  const now = nowSeconds();
  if (typeof exp !== 'number' || exp <= now || (typeof nbf === 'number' && nbf > now + 300)) {
    return invalidToken('Access token has expired or is not yet valid.');
  }
  if (typeof aud !== 'string' || aud.replace(/\/$/, '') !== ctx.audience()) return invalidToken('Access token validation failure. Invalid audience.');
  if (tid !== ctx.directory.tenantId || iss !== issuerFor(ctx.directory.tenantId)) return invalidToken('Access token validation failure.');
  const app = typeof appid === 'string' ? ctx.directory.find(appid) : undefined;
  if (!app) return invalidToken('Access token validation failure.');
  return { app, roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [] };
}

export const isAnswer = (value: GraphCaller | GraphAnswer): value is GraphAnswer => 'status' in value;
