/** The claims of an app-only Entra access token that matter to people setting it up. */
export interface TokenClaims {
  appid?: string;
  oid?: string;
  tid?: string;
  aud?: string;
  roles: string[];
  /** Delegated tokens: the granted scopes and the signed-in user. */
  scp?: string;
  upn?: string;
  exp?: number;
}

/**
 * Reads (does not verify: Exchange does that) the payload of a JWT access token, for log
 * lines and diagnosis. Returns undefined for anything that is not a JWT.
 */
export function readTokenClaims(token: string): TokenClaims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const text = (key: string) => (typeof claims[key] === 'string' ? (claims[key] as string) : undefined);
    return {
      appid: text('appid') ?? text('azp'),
      oid: text('oid'),
      tid: text('tid'),
      aud: text('aud'),
      roles: Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [],
      scp: text('scp'),
      upn: text('upn') ?? text('preferred_username') ?? text('unique_name') ?? text('email'),
      exp: typeof claims.exp === 'number' ? claims.exp : undefined,
    };
  } catch {
    return undefined;
  }
}

/** The app role Exchange Online wants in the token for each protocol. */
export const REQUIRED_ROLE = { imap: 'IMAP.AccessAsApp', pop3: 'POP.AccessAsApp', smtp: 'SMTP.SendAsApp' } as const;
