// GET /{tenant}/oauth2/v2.0/authorize, the browser's side of the authorization code flow. The
// sandbox has no sign-in page: the person is whoever `login_hint` names or the test signed in
// with setBrowserUser, and the answer is at once the redirect to the loopback URI with
// `code` and `state`. Errors before the redirect URI is trusted are pages, as Entra shows them.
import type { Directory } from '../directory.js';
import { randomGuid } from '../ids.js';
import type { SandboxApp } from '../types.js';
import { clientInfo } from './delegated-token.js';
import { parseScopes } from './scopes.js';
import type { SignIns } from './sign-ins.js';

export interface BrowserState {
  upn?: string;
  decline?: boolean;
}

export interface AuthorizeContext {
  directory: Directory;
  signIns: SignIns;
  browser: BrowserState;
}

export interface AuthorizeAnswer {
  status: number;
  /** Location for a redirect. */
  location?: string;
  /** HTML for a page. */
  html?: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function answerAuthorize(ctx: AuthorizeContext, tenant: string, query: URLSearchParams): AuthorizeAnswer {
  if (!ctx.directory.acceptsSignIn(tenant)) return page(400, 90002, `Tenant '${tenant}' not found.`);
  const clientId = query.get('client_id');
  if (!clientId) return page(400, 900144, "The request body must contain the following parameter: 'client_id'.");
  const app = ctx.directory.find(clientId);
  if (!app) return page(400, 700016, `Application with identifier '${clientId}' was not found in the directory '${ctx.directory.tenantId}'.`);
  const redirectUri = query.get('redirect_uri') ?? '';
  const redirect = parseUrl(redirectUri);
  if (!redirect || !isRegistered(app, redirect)) {
    return page(400, 50011, `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`);
  }
  const back = (params: Record<string, string>): AuthorizeAnswer => {
    const state = query.get('state');
    for (const [name, value] of Object.entries({ ...params, ...(state !== null ? { state } : {}) })) redirect.searchParams.set(name, value);
    return { status: 302, location: redirect.toString() };
  };
  const error = (name: string, code: number, message: string) => back({ error: name, error_description: `AADSTS${code}: ${message}`, error_uri: `https://login.microsoftonline.com/error?code=${code}` });

  if (query.get('response_type') !== 'code') return error('unsupported_response_type', 900144, "The request body must contain the following parameter: 'response_type' with the value 'code'.");
  const scope = query.get('scope');
  if (!scope) return error('invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
  const scopes = parseScopes(scope, randomGuid());
  if ('status' in scopes) return error(String(scopes.body.error), (scopes.body.error_codes as number[])[0]!, String(scopes.body.error_description).split('\r\n')[0]!.replace(/^AADSTS\d+: /, ''));
  const challenge = query.get('code_challenge') ?? undefined;
  const method = query.get('code_challenge_method') ?? (challenge ? 'plain' : undefined);
  if (method !== undefined && method !== 'S256' && method !== 'plain') return error('invalid_request', 5000811, `Unsupported code_challenge_method '${method}'.`);

  const hinted = query.get('login_hint');
  const user = (hinted ? ctx.directory.user(hinted) : undefined) ?? (ctx.browser.upn ? ctx.directory.user(ctx.browser.upn) : undefined);
  if (!user) {
    if (query.get('prompt') === 'none') return error('login_required', 50058, 'A silent sign-in request was sent but no user is signed in.');
    return { status: 200, html: html('Sign in to your account', 'sandbox: nobody is signed in in this browser. Pass login_hint with a user the sandbox knows, or call setBrowserUser(upn) first.') };
  }
  if (ctx.browser.decline) return error('access_denied', 65004, 'User declined to consent to access the app.');

  const code = ctx.signIns.newAuthCode({
    clientId: app.clientId,
    userObjectId: user.objectId,
    scope,
    redirectUri,
    ...(challenge !== undefined ? { codeChallenge: challenge, codeChallengeMethod: method } : {}),
    ...(query.get('nonce') ? { nonce: query.get('nonce')! } : {}),
  });
  return back({ code, ...(query.get('client_info') === '1' ? { client_info: clientInfo(user, ctx.directory.tenantId) } : {}), session_state: randomGuid() });
}

/** Same scheme, host and path; for loopback hosts any port, as Entra does for native apps. */
function isRegistered(app: SandboxApp, redirect: URL): boolean {
  return (app.redirectUris ?? []).some((registered) => {
    const r = parseUrl(registered);
    if (!r || r.protocol !== redirect.protocol || r.hostname !== redirect.hostname || r.pathname !== redirect.pathname) return false;
    return LOOPBACK_HOSTS.has(r.hostname) || r.port === redirect.port;
  });
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function page(status: number, code: number, message: string): AuthorizeAnswer {
  return { status, html: html('Sign in to your account', `AADSTS${code}: ${message}`) };
}

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function html(title: string, message: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1><p>${escape(message)}</p></body></html>\n`;
}
