// The fake Entra ID over HTTPS: OpenID discovery, JWKS, and the token endpoint, with the
// failure controls (down, slow) the proxy's error handling is tested against.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomGuid } from '../ids.js';
import type { Directory } from '../directory.js';
import type { SandboxControls, SandboxStats } from '../types.js';
import { answerAuthorize } from './authorize.js';
import type { DelegatedFlows } from './delegated.js';
import { answerDeviceCodeRequest } from './device-code.js';
import { entraError, tenantNotFound, type EntraError } from './errors.js';
import { jwks, type SigningKey } from './keys.js';
import { answerTokenRequest, type TokenEndpointContext } from './token-endpoint.js';

/** Token requests are a few KB; anything much larger is not a token request. */
const MAX_BODY_BYTES = 256 * 1024;

export interface EntraServerOptions {
  tls: { cert: string; key: string };
  directory: Directory;
  key: SigningKey;
  controls: SandboxControls;
  stats: SandboxStats;
  lifetimeSeconds: number;
  exchangeAudience: string;
  /** The Graph endpoint's URL (its token audience), known once listening. */
  graphAudience: () => string;
  /** "https://127.0.0.1:PORT", known once listening. */
  authorityHost: () => string;
  delegated: DelegatedFlows;
}

export interface EntraServer {
  server: Server;
  /** Answers still waiting out `entraDelayMs`; cancelled on close. */
  cancelPending(): void;
}

export function createEntraServer(options: EntraServerOptions): EntraServer {
  const pending = new Set<{ timer: NodeJS.Timeout; res: ServerResponse; resolve: () => void }>();
  const tokenContext: TokenEndpointContext = {
    directory: options.directory,
    key: options.key,
    lifetimeSeconds: options.lifetimeSeconds,
    exchangeAudience: options.exchangeAudience,
    graphAudience: options.graphAudience,
    assertionAudiences: (tenant) => {
      const base = `${options.authorityHost()}/${tenant}`;
      return [`${base}/oauth2/v2.0/token`, `${base}/oauth2/token`, `${base}/v2.0`, base];
    },
    delegated: options.delegated.tokens,
  };

  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    route(req, res).catch(() => send(res, 500, { error: 'server_error' }));
  });
  server.on('tlsClientError', () => {});
  server.on('clientError', (_error, socket) => socket.destroy());

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const segments = url.pathname.split('/').filter(Boolean);
    const [tenant, ...rest] = segments;
    const path = rest.join('/');
    // MSAL sends client-request-id; Entra echoes it as the Correlation ID.
    const header = req.headers['client-request-id'];
    const correlationId = typeof header === 'string' && header ? header : randomGuid();

    const isToken = path === 'oauth2/v2.0/token';
    if (tenant && (isToken || path === 'oauth2/v2.0/devicecode')) {
      if (req.method !== 'POST') return sendError(res, entraError(400, 'invalid_request', 900561, 'The endpoint only accepts POST, OPTIONS requests. Received a GET request.', correlationId));
      if (isToken) options.stats.tokenRequests++;
      else options.stats.deviceCodeRequests++;
      const body = await readBody(req);
      await delay(options.controls.entraDelayMs, res);
      if (options.controls.entraDown) {
        return sendError(res, entraError(503, 'temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.', correlationId));
      }
      if (body === undefined) return sendError(res, entraError(400, 'invalid_request', 90014, 'The request body is too large or unreadable.', correlationId));
      const form = new URLSearchParams(body);
      const answer = isToken
        ? answerTokenRequest(tokenContext, tenant, form, basicCredentials(req), correlationId)
        : answerDeviceCodeRequest(options.delegated.deviceCodes, tenant, form, correlationId);
      return send(res, answer.status, answer.body);
    }
    if (tenant && path === 'oauth2/v2.0/authorize' && req.method === 'GET') {
      const answer = answerAuthorize(options.delegated.authorize, tenant, url.searchParams);
      if (answer.location) {
        res.writeHead(answer.status, { location: answer.location, 'cache-control': 'no-store, no-cache', 'content-length': 0 });
        return void res.end();
      }
      const html = answer.html ?? '';
      res.writeHead(answer.status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store, no-cache' });
      return void res.end(html);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'invalid_request' });
    if (tenant && (path === 'v2.0/.well-known/openid-configuration' || path === '.well-known/openid-configuration')) {
      if (!options.directory.acceptsSignIn(tenant)) return sendError(res, tenantNotFound(tenant, 'invalid_tenant', correlationId));
      return send(res, 200, openIdConfiguration(options.authorityHost(), tenant, path.startsWith('v2.0'), options.directory.isTenant(tenant)));
    }
    if (tenant && (path === 'discovery/v2.0/keys' || path === 'discovery/keys')) {
      return send(res, 200, jwks(options.key, `${options.authorityHost()}/${options.directory.tenantId}/v2.0`));
    }
    if (tenant === 'common' && path === 'discovery/instance') return send(res, 200, instanceDiscovery(options.authorityHost(), url));
    return send(res, 404, { error: 'not_found' });
  }

  function delay(ms: number, res: ServerResponse): Promise<void> {
    if (!(ms > 0)) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = { timer: setTimeout(() => { pending.delete(entry); resolve(); }, ms), res, resolve };
      pending.add(entry);
    });
  }

  return {
    server,
    cancelPending() {
      for (const entry of pending) {
        clearTimeout(entry.timer);
        entry.res.destroy();
        entry.resolve();
      }
      pending.clear();
    },
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= MAX_BODY_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined));
    req.on('error', () => resolve(undefined));
  });
}

/** client_secret_basic: HTTP Basic with the URL-encoded client id and secret. */
function basicCredentials(req: IncomingMessage): { id: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store, no-cache',
    'x-ms-request-id': randomGuid(),
  });
  res.end(text);
}

const sendError = (res: ServerResponse, error: EntraError): void => send(res, error.status, error.body);

/** For "organizations"/"common" the issuer is a template, "{tenantid}" filled in per token, as Entra publishes it. */
function openIdConfiguration(host: string, tenant: string, v2: boolean, isTenant: boolean): Record<string, unknown> {
  const issuerTenant = isTenant ? tenant : '{tenantid}';
  const base = `${host}/${tenant}`;
  const oauth = v2 ? `${base}/oauth2/v2.0` : `${base}/oauth2`;
  return {
    token_endpoint: `${oauth}/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: v2 ? `${base}/discovery/v2.0/keys` : `${base}/discovery/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2 ? `${host}/${issuerTenant}/v2.0` : `https://sts.windows.net/${issuerTenant}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${host}/oidc/userinfo`,
    authorization_endpoint: `${oauth}/authorize`,
    device_authorization_endpoint: `${oauth}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${oauth}/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

/** Answer to MSAL's instance discovery, in case a client asks despite knownAuthorities. */
function instanceDiscovery(host: string, url: URL): Record<string, unknown> {
  const hostname = new URL(host).host;
  const authorization = url.searchParams.get('authorization_endpoint') ?? `${host}/common/oauth2/v2.0/authorize`;
  const tenant = new URL(authorization, host).pathname.split('/').filter(Boolean)[0] ?? 'common';
  return {
    tenant_discovery_endpoint: `${host}/${tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: hostname, preferred_cache: hostname, aliases: [hostname] }],
  };
}
