import { Secret } from './secret.js';
import type { CloudDefaults } from './clouds.js';
import type { GraphConfig, HostPort, HttpProxyConfig, UpstreamConfig } from './types.js';
import { asObject, type JsonObject, type Validator } from './validator.js';

/**
 * Exchange's hosts (defaults from the cloud), the extra CA file and the HTTP proxy. The
 * limits (timeouts, session caps) come through as the schema checked and filled them in.
 */
export function checkUpstream(v: Validator, value: unknown, cloud: CloudDefaults): UpstreamConfig | undefined {
  const raw = asObject(value);
  if (!raw) return undefined;
  const { imap, pop3, smtp, graph, caFile, httpProxy, ...limits } = raw;
  const ca = typeof caFile === 'string' ? v.pemFile(caFile, 'upstream.caFile', 'CERTIFICATE') : undefined;
  const proxyRaw = asObject(httpProxy);
  const proxy = proxyRaw ? checkHttpProxy(v, 'upstream.httpProxy', proxyRaw) : undefined;
  return {
    imap: hostPort(v, imap, 'upstream.imap', cloud.imap),
    pop3: hostPort(v, pop3, 'upstream.pop3', cloud.pop3),
    smtp: hostPort(v, smtp, 'upstream.smtp', cloud.smtp),
    graph: checkGraph(v, asObject(graph) ?? {}, cloud),
    ...(ca ? { ca } : {}),
    ...(proxy ? { httpProxy: proxy } : {}),
    ...(limits as Omit<UpstreamConfig, 'imap' | 'pop3' | 'smtp' | 'graph' | 'ca' | 'httpProxy'>),
  };
}

/** Graph's URL defaults to the cloud's; the schema filled in the limits. */
function checkGraph(v: Validator, raw: JsonObject, cloud: CloudDefaults): GraphConfig {
  const url = v.httpsUrl(raw.url ?? cloud.graphUrl, 'upstream.graph.url', `use e.g. ${cloud.graphUrl} (requests go to <url>/v1.0/...)`);
  return { ...(raw as Omit<GraphConfig, 'url'>), url: url ?? cloud.graphUrl };
}

/** A host and port where either may be left out for the cloud's own. */
function hostPort(v: Validator, value: unknown, key: string, fallback: HostPort): HostPort {
  const raw = asObject(value) ?? {};
  const host = raw.host === undefined ? fallback.host : v.text(raw.host, `${key}.host`);
  return { host: host ?? fallback.host, port: typeof raw.port === 'number' ? raw.port : fallback.port };
}

function checkHttpProxy(v: Validator, key: string, raw: JsonObject): HttpProxyConfig | undefined {
  const text = v.text(raw.url, `${key}.url`);
  const username = v.text(raw.username, `${key}.username`);
  const password = v.text(raw.password, `${key}.password`);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    v.problem(`${key}.url`, 'is not a URL', 'use e.g. "http://proxy.corp.example:3128"');
    return undefined;
  }
  // Not echoing the URL: it may carry credentials.
  if (url.protocol !== 'http:') {
    v.problem(`${key}.url`, `uses ${url.protocol.replace(':', '')}, but only http:// proxies are supported (the tunnel itself carries TLS)`, 'use the proxy\'s http:// address, as in HTTPS_PROXY=http://...');
    return undefined;
  }
  // Credentials may ride in the URL, as they often do in HTTPS_PROXY.
  const inUrl = url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined;
  if (inUrl && raw.username !== undefined) v.problem(key, 'has credentials both in url and in username/password', 'keep one of them');
  const credentials = inUrl ?? (username !== undefined && password !== undefined ? { username, password } : undefined);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 80 : Number(url.port),
    ...(credentials ? { auth: { username: credentials.username, password: new Secret(credentials.password) } } : {}),
    forMail: raw.forMail === true,
  };
}
