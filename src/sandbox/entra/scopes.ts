// The `scope` parameter of the delegated flows: one resource (an Exchange URI, long form) and
// its permissions, plus OpenID scopes. An unprefixed permission ("IMAP.AccessAsUser.All") names
// Microsoft Graph, as Entra resolves it; such a token is for Graph, and Exchange refuses it
// (reported: MailKit, msal-dotnet#3234 — the long form works, the short one does not).
import { entraError, missingParameter, type EntraError } from './errors.js';

export const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';

export interface RequestedScopes {
  /** e.g. "https://outlook.office365.com" (no trailing slash). */
  resource: string;
  /** Permission names without the resource; for "/.default" the caller fills in what is consented. */
  permissions: string[];
  /** ".default" was asked for. */
  isDefault: boolean;
  /** The OpenID scopes asked for (offline_access → a refresh token, openid → an id_token). */
  oidc: Set<string>;
}

export function parseScopes(scope: string, correlationId: string): RequestedScopes | EntraError {
  const oidc = new Set<string>();
  const resources = new Map<string, string[]>();
  const items = scope.split(/\s+/).filter(Boolean);
  if (items.length === 0) return missingParameter('scope', correlationId);
  for (const item of items) {
    if (OIDC_SCOPES.has(item.toLowerCase())) {
      oidc.add(item.toLowerCase());
      continue;
    }
    const slash = item.lastIndexOf('/');
    const resource = slash > 0 ? item.slice(0, slash).replace(/\/$/, '') : GRAPH_RESOURCE;
    const permission = slash > 0 ? item.slice(slash + 1) : item;
    resources.set(resource.toLowerCase(), [...(resources.get(resource.toLowerCase()) ?? []), permission]);
  }
  if (resources.size > 1) {
    return entraError(400, 'invalid_scope', 28000, `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`, correlationId);
  }
  const [resource, permissions] = [...resources.entries()][0] ?? [GRAPH_RESOURCE, []];
  const isDefault = permissions.includes('.default');
  if (isDefault && permissions.length > 1) {
    return entraError(400, 'invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid. .default scope can't be combined with resource-specific scopes.`, correlationId);
  }
  return { resource, permissions: isDefault ? [] : permissions, isDefault, oidc };
}

/** The `scope` of a token answer: the permissions with their resource (short for Graph), then the OpenID scopes. */
export function grantedScopeText(resource: string, permissions: string[], oidc: Set<string>): string {
  const named = permissions.map((p) => (resource === GRAPH_RESOURCE ? p : `${resource}/${p}`));
  return [...named, ...[...oidc].filter((s) => s !== 'offline_access')].join(' ');
}
