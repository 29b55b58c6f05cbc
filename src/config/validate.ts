import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { Secret } from '../secret.js';
import { isPasswordHash } from '../password-hash.js';
import { CLOUDS, type CloudName } from './clouds.js';
import { Validator, type Json } from './validator.js';
import {
  LOG_LEVELS, PROTOCOLS, TLS_MODES,
  type AccountConfig, type AppConfig, type AppCredential, type HttpProxyConfig, type ListenerConfig,
  type LogLevel, type Protocol, type ProxyConfig, type TlsMode,
} from './types.js';

export interface ConfigProblem {
  key: string;
  problem: string;
  fix: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: ConfigProblem[], source: string) {
    super(
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  - ${p.key}: ${p.problem}. Fix: ${p.fix}.`).join('\n'),
    );
  }
}

const KNOWN_TOP_KEYS = ['$schema', 'cloud', 'apps', 'accounts', 'listeners', 'tls', 'upstream', 'tokens', 'clients', 'log', 'admin'];

/**
 * Turns parsed JSON into a ProxyConfig, collecting every problem (not just the first) with
 * the key that holds it and how to fix it. File paths are relative to `baseDir`.
 */
export function validateConfig(raw: Json, baseDir: string, source = 'config'): ProxyConfig {
  const v = new Validator(baseDir);
  const root = v.object(raw, '(top level)') ?? {};
  v.unknownKeys(root, '', KNOWN_TOP_KEYS);

  const cloudName = v.oneOf(root.cloud ?? 'commercial', 'cloud', Object.keys(CLOUDS)) as CloudName | undefined;
  const cloud = CLOUDS[cloudName ?? 'commercial'];

  const apps = new Map<string, AppConfig>();
  const appsRaw = v.object(root.apps, 'apps') ?? {};
  if (Object.keys(appsRaw).length === 0) v.problem('apps', 'no app registration is configured', 'add one under "apps" (see config.example.json)');
  for (const [name, value] of Object.entries(appsRaw)) {
    const app = validateApp(v, name, value, cloud);
    if (app) apps.set(name, app);
  }

  const accounts = new Map<string, AccountConfig>();
  const accountsRaw = v.object(root.accounts, 'accounts') ?? {};
  if (Object.keys(accountsRaw).length === 0) v.problem('accounts', 'no local account is configured', 'add one under "accounts" (see config.example.json)');
  for (const [username, value] of Object.entries(accountsRaw)) {
    const key = `accounts.${username}`;
    const account = validateAccount(v, key, username, value, Object.keys(appsRaw));
    if (!account) continue;
    const folded = username.toLowerCase();
    if (accounts.has(folded)) {
      v.problem(key, `duplicates account "${accounts.get(folded)!.username}" (usernames are case-insensitive)`, 'rename one of them');
    }
    accounts.set(folded, account);
  }

  const listeners: ListenerConfig[] = [];
  const listenersRaw = v.array(root.listeners, 'listeners') ?? [];
  if (listenersRaw.length === 0) v.problem('listeners', 'no listener is configured', 'add at least one, e.g. {"protocol": "imap", "port": 1143, "tls": "none"}');
  listenersRaw.forEach((value, index) => {
    const listener = validateListener(v, `listeners[${index}]`, value);
    if (listener) listeners.push(listener);
  });
  const seen = new Map<string, string>();
  listeners.forEach((l, index) => {
    const address = `${l.host}:${l.port}`;
    if (l.port !== 0 && seen.has(address)) v.problem(`listeners[${index}]`, `${address} is already used by ${seen.get(address)}`, 'give each listener its own port');
    seen.set(address, `listeners[${index}]`);
  });

  let tls: ProxyConfig['tls'];
  const needsTls = listeners.some((l) => l.tls !== 'none');
  if (root.tls !== undefined && root.tls !== null) {
    tls = validateLocalTls(v, root.tls);
  } else if (needsTls) {
    v.problem('tls', 'a listener uses TLS but no local certificate is configured', 'run "o365-mail-proxy gen-cert" and set tls.certFile and tls.keyFile');
  }

  const upstreamRaw = v.object(root.upstream ?? {}, 'upstream') ?? {};
  v.unknownKeys(upstreamRaw, 'upstream', ['imap', 'pop3', 'smtp', 'caFile', 'httpProxy', 'connectTimeoutMs', 'tlsTimeoutMs', 'loginTimeoutMs', 'maxSessionsPerMailbox', 'sessionWaitMs', 'maxWaitingPerMailbox', 'throttleBackoffMs']);
  const caFile = upstreamRaw.caFile;
  const httpProxy = upstreamRaw.httpProxy === undefined || upstreamRaw.httpProxy === null ? undefined : validateHttpProxy(v, upstreamRaw.httpProxy);
  const upstream: ProxyConfig['upstream'] = {
    imap: v.hostPort(upstreamRaw.imap, 'upstream.imap', cloud.imap),
    pop3: v.hostPort(upstreamRaw.pop3, 'upstream.pop3', cloud.pop3),
    smtp: v.hostPort(upstreamRaw.smtp, 'upstream.smtp', cloud.smtp),
    ...(caFile === undefined || caFile === null ? {} : { ca: v.pemFile(caFile, 'upstream.caFile', 'CERTIFICATE') }),
    ...(httpProxy ? { httpProxy } : {}),
    connectTimeoutMs: v.positiveInt(upstreamRaw.connectTimeoutMs ?? 10_000, 'upstream.connectTimeoutMs'),
    tlsTimeoutMs: v.positiveInt(upstreamRaw.tlsTimeoutMs ?? 10_000, 'upstream.tlsTimeoutMs'),
    loginTimeoutMs: v.positiveInt(upstreamRaw.loginTimeoutMs ?? 20_000, 'upstream.loginTimeoutMs'),
    maxSessionsPerMailbox: validateSessionCaps(v, upstreamRaw.maxSessionsPerMailbox),
    sessionWaitMs: v.positiveInt(upstreamRaw.sessionWaitMs ?? 5000, 'upstream.sessionWaitMs'),
    maxWaitingPerMailbox: upstreamRaw.maxWaitingPerMailbox === 0 ? 0 : v.positiveInt(upstreamRaw.maxWaitingPerMailbox ?? 50, 'upstream.maxWaitingPerMailbox'),
    throttleBackoffMs: v.positiveInt(upstreamRaw.throttleBackoffMs ?? 60_000, 'upstream.throttleBackoffMs'),
  };

  const clientsRaw = v.object(root.clients ?? {}, 'clients') ?? {};
  v.unknownKeys(clientsRaw, 'clients', ['idleTimeoutMs', 'maxFailedLogins', 'failedLoginWindowMs', 'maxLoginAttemptsPerConnection', 'failedLoginDelayMs', 'maxQueuedPasswordChecks', 'maxConnections', 'maxConnectionsPerAddress']);
  const clients = {
    // 10 minutes: RFC 1939's minimum for a POP3 autologout timer, and above RFC 5321's 5 for SMTP.
    idleTimeoutMs: v.positiveInt(clientsRaw.idleTimeoutMs ?? 600_000, 'clients.idleTimeoutMs'),
    maxFailedLogins: clientsRaw.maxFailedLogins === 0 ? 0 : v.positiveInt(clientsRaw.maxFailedLogins ?? 10, 'clients.maxFailedLogins'),
    failedLoginWindowMs: v.positiveInt(clientsRaw.failedLoginWindowMs ?? 300_000, 'clients.failedLoginWindowMs'),
    // Dovecot's login processes close after 3 failed attempts too.
    maxLoginAttemptsPerConnection: v.positiveInt(clientsRaw.maxLoginAttemptsPerConnection ?? 3, 'clients.maxLoginAttemptsPerConnection'),
    failedLoginDelayMs: clientsRaw.failedLoginDelayMs === 0 ? 0 : v.positiveInt(clientsRaw.failedLoginDelayMs ?? 1000, 'clients.failedLoginDelayMs'),
    maxQueuedPasswordChecks: v.positiveInt(clientsRaw.maxQueuedPasswordChecks ?? 64, 'clients.maxQueuedPasswordChecks'),
    // See the README ("Connection limits") for why these numbers.
    maxConnections: v.positiveInt(clientsRaw.maxConnections ?? 4000, 'clients.maxConnections'),
    maxConnectionsPerAddress: clientsRaw.maxConnectionsPerAddress === 0 ? 0 : v.positiveInt(clientsRaw.maxConnectionsPerAddress ?? 1000, 'clients.maxConnectionsPerAddress'),
  };

  const tokensRaw = v.object(root.tokens ?? {}, 'tokens') ?? {};
  v.unknownKeys(tokensRaw, 'tokens', ['requestTimeoutMs', 'minRemainingSeconds']);
  const tokens = {
    requestTimeoutMs: v.positiveInt(tokensRaw.requestTimeoutMs ?? 15_000, 'tokens.requestTimeoutMs'),
    minRemainingSeconds: v.positiveInt(tokensRaw.minRemainingSeconds ?? 1800, 'tokens.minRemainingSeconds'),
  };

  const logRaw = v.object(root.log ?? {}, 'log') ?? {};
  v.unknownKeys(logRaw, 'log', ['level', 'format']);
  const log = {
    level: (v.oneOf(logRaw.level ?? 'info', 'log.level', LOG_LEVELS) ?? 'info') as LogLevel,
    format: (v.oneOf(logRaw.format ?? 'auto', 'log.format', ['auto', 'json', 'pretty']) ?? 'auto') as 'auto' | 'json' | 'pretty',
  };

  let admin: ProxyConfig['admin'];
  if (root.admin !== undefined && root.admin !== null) {
    const adminRaw = v.object(root.admin, 'admin') ?? {};
    v.unknownKeys(adminRaw, 'admin', ['host', 'port']);
    const host = v.string(adminRaw.host ?? '127.0.0.1', 'admin.host', 'an IP address, e.g. 127.0.0.1');
    const port = v.port(adminRaw.port, 'admin.port');
    if (host && port !== undefined) admin = { host, port };
  }

  if (v.problems.length > 0) throw new ConfigError(v.problems, source);
  return { apps, accounts, listeners, ...(tls ? { tls } : {}), upstream, tokens, clients, log, ...(admin ? { admin } : {}) };
}

/**
 * Exchange Online refuses more than about 16 IMAP or POP3 sessions per mailbox (16 is the
 * protocols' MaxConnectionsPerUser default; reports say 16-20) and more than 3 concurrent SMTP
 * submissions (432 4.3.2); staying at or below them keeps its refusals away from clients.
 */
const SESSION_CAPS: Record<Protocol, number> = { imap: 16, pop3: 16, smtp: 3 };

function validateSessionCaps(v: Validator, value: Json): Record<Protocol, number> {
  const key = 'upstream.maxSessionsPerMailbox';
  if (value === undefined || value === null) return { ...SESSION_CAPS };
  if (typeof value !== 'object' || Array.isArray(value)) {
    v.problem(key, 'must be an object with a number per protocol', 'use e.g. {"imap": 16, "pop3": 16, "smtp": 3} (0: no cap)');
    return { ...SESSION_CAPS };
  }
  const raw = value as Record<string, Json>;
  v.unknownKeys(raw, key, [...PROTOCOLS]);
  const caps = { ...SESSION_CAPS };
  for (const protocol of PROTOCOLS) {
    const cap = raw[protocol];
    caps[protocol] = cap === 0 ? 0 : v.positiveInt(cap ?? SESSION_CAPS[protocol], `${key}.${protocol}`);
  }
  return caps;
}

function validateApp(v: Validator, name: string, value: Json, cloud: (typeof CLOUDS)[CloudName]): AppConfig | undefined {
  const key = `apps.${name}`;
  const raw = v.object(value, key);
  if (!raw) return undefined;
  v.unknownKeys(raw, key, ['tenantId', 'clientId', 'clientSecret', 'certificate', 'authorityHost', 'scope']);
  const tenantId = v.string(raw.tenantId, `${key}.tenantId`, 'the Directory (tenant) ID from the app registration\'s Overview page');
  if (tenantId && ['common', 'organizations', 'consumers'].includes(tenantId.toLowerCase())) {
    v.problem(`${key}.tenantId`, `"${tenantId}" does not work with the client-credentials flow`, 'use the Directory (tenant) ID GUID or the tenant\'s domain');
  }
  const clientId = v.string(raw.clientId, `${key}.clientId`, 'the Application (client) ID from the app registration\'s Overview page');
  if (clientId && !GUID.test(clientId)) v.problem(`${key}.clientId`, `"${clientId}" is not a GUID`, 'copy the Application (client) ID, a GUID like 00000000-0000-0000-0000-000000000000');

  let credential: AppCredential | undefined;
  const hasSecret = raw.clientSecret !== undefined && raw.clientSecret !== null;
  const hasCertificate = raw.certificate !== undefined && raw.certificate !== null;
  if (hasSecret && hasCertificate) {
    v.problem(key, 'has both clientSecret and certificate', 'keep one of them');
  } else if (hasSecret) {
    const secret = v.string(raw.clientSecret, `${key}.clientSecret`, 'the secret\'s Value (not its Secret ID), preferably as "${env:NAME}"');
    if (secret !== undefined) {
      if (GUID.test(secret)) {
        v.problem(`${key}.clientSecret`, 'looks like a GUID, which is the secret\'s ID, not its value', 'copy the Value column when creating the client secret (it is shown only once)');
      }
      credential = { kind: 'secret', clientSecret: new Secret(secret) };
    }
  } else if (hasCertificate) {
    credential = validateCertificateCredential(v, `${key}.certificate`, raw.certificate);
  } else {
    v.problem(key, 'has neither clientSecret nor certificate', 'add "clientSecret": "${env:NAME}" or "certificate": {"keyFile": ..., "certFile": ...}');
  }

  const authorityHost = v.httpsUrl(raw.authorityHost ?? cloud.authorityHost, `${key}.authorityHost`);
  const scope = v.string(raw.scope ?? cloud.scope, `${key}.scope`, 'e.g. https://outlook.office365.com/.default');
  if (scope && !scope.endsWith('/.default')) v.problem(`${key}.scope`, 'must end in "/.default" for the client-credentials flow', `use ${cloud.scope}`);
  if (!tenantId || !clientId || !credential || !authorityHost || !scope) return undefined;
  return { name, tenantId, clientId, credential, authorityHost, scope };
}

function validateCertificateCredential(v: Validator, key: string, value: Json): AppCredential | undefined {
  const raw = v.object(value, key);
  if (!raw) return undefined;
  v.unknownKeys(raw, key, ['keyFile', 'certFile']);
  const keyPem = v.pemFile(raw.keyFile, `${key}.keyFile`, 'PRIVATE KEY');
  const certificatePem = v.pemFile(raw.certFile, `${key}.certFile`, 'CERTIFICATE');
  if (!keyPem || !certificatePem) return undefined;
  try {
    createPrivateKey(keyPem);
  } catch {
    v.problem(`${key}.keyFile`, 'is not a readable PEM private key (encrypted keys are not supported)', 'export the key unencrypted in PEM format');
    return undefined;
  }
  try {
    // MSAL wants the SHA-256 thumbprint as plain hex, computed over the DER certificate.
    const thumbprintSha256 = new X509Certificate(certificatePem).fingerprint256.replaceAll(':', '');
    return { kind: 'certificate', privateKey: new Secret(keyPem), certificatePem, thumbprintSha256 };
  } catch {
    v.problem(`${key}.certFile`, 'is not a readable PEM certificate', 'use the certificate uploaded to the app registration, in PEM format');
    return undefined;
  }
}

function validateAccount(v: Validator, key: string, username: string, value: Json, appNames: string[]): AccountConfig | undefined {
  const raw = v.object(value, key);
  if (!raw) return undefined;
  v.unknownKeys(raw, key, ['passwordHash', 'mailbox', 'app', 'protocols']);
  if (/[\s\x00-\x1f]/.test(username) || username === '') v.problem(key, 'username must not be empty or contain spaces or control characters', 'rename the account');
  const passwordHash = v.string(raw.passwordHash, `${key}.passwordHash`, 'run "o365-mail-proxy hash-password" and paste its output');
  if (passwordHash && !isPasswordHash(passwordHash)) {
    v.problem(`${key}.passwordHash`, 'is not a hash made by hash-password (plain passwords are not accepted)', 'run "o365-mail-proxy hash-password" and paste its output');
  }
  const mailbox = v.string(raw.mailbox, `${key}.mailbox`, 'the email address of the Exchange Online mailbox');
  if (mailbox && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(mailbox)) v.problem(`${key}.mailbox`, `"${mailbox}" is not an email address`, 'use the mailbox\'s primary SMTP address');
  const app = v.string(raw.app, `${key}.app`, 'the name of an entry under "apps"');
  if (app && !appNames.includes(app)) {
    v.problem(`${key}.app`, `"${app}" is not defined under "apps" (defined: ${appNames.join(', ') || 'none'})`, 'use one of the names under "apps"');
  }
  let protocols: Protocol[] = [...PROTOCOLS];
  if (raw.protocols !== undefined) {
    const list = v.array(raw.protocols, `${key}.protocols`) ?? [];
    protocols = [];
    list.forEach((p, i) => {
      const protocol = v.oneOf(p, `${key}.protocols[${i}]`, PROTOCOLS) as Protocol | undefined;
      if (protocol) protocols.push(protocol);
    });
  }
  if (!passwordHash || !mailbox || !app) return undefined;
  return { username, passwordHash, mailbox, app, protocols };
}

function validateListener(v: Validator, key: string, value: Json): ListenerConfig | undefined {
  const raw = v.object(value, key);
  if (!raw) return undefined;
  v.unknownKeys(raw, key, ['protocol', 'host', 'port', 'tls', 'allowPlaintextOnNetwork', 'proxyProtocol']);
  const protocol = v.oneOf(raw.protocol, `${key}.protocol`, PROTOCOLS) as Protocol | undefined;
  const host = v.string(raw.host ?? '127.0.0.1', `${key}.host`, 'an IP address to listen on, e.g. 127.0.0.1');
  if (host && isIP(host) === 0 && host !== 'localhost') v.problem(`${key}.host`, `"${host}" is not an IP address`, 'use an IP address such as 127.0.0.1, ::1 or 0.0.0.0');
  const port = v.port(raw.port, `${key}.port`);
  const tls = v.oneOf(raw.tls ?? 'none', `${key}.tls`, TLS_MODES) as TlsMode | undefined;
  const allowPlaintext = raw.allowPlaintextOnNetwork === true;
  if (host && tls === 'none' && !isLoopback(host) && !allowPlaintext) {
    v.problem(key, `listens on ${host} without TLS, so passwords would cross the network in clear text`, 'set "tls": "starttls" or "implicit", or add "allowPlaintextOnNetwork": true if you accept the risk');
  }
  const proxyProtocol = validateProxyProtocol(v, `${key}.proxyProtocol`, raw.proxyProtocol);
  if (!protocol || !host || port === undefined || !tls) return undefined;
  return { protocol, host, port, tls, ...(proxyProtocol ? { proxyProtocol } : {}) };
}

/** The balancers trusted to send PROXY headers: IP addresses and CIDR ranges. */
function validateProxyProtocol(v: Validator, key: string, value: Json): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const fix = 'list the load balancers\' addresses or ranges, e.g. ["10.0.0.0/24", "192.0.2.10"]';
  if (!Array.isArray(value) || value.length === 0) {
    v.problem(key, Array.isArray(value) ? 'is an empty list, so no balancer could send a header' : 'must be a list of addresses', fix);
    return undefined;
  }
  const entries: string[] = [];
  value.forEach((entry, index) => {
    const [address = '', prefix, extra] = typeof entry === 'string' ? entry.split('/') : [];
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || extra !== undefined) v.problem(`${key}[${index}]`, `${JSON.stringify(entry)} is not an IP address or CIDR range`, fix);
    else entries.push(entry as string);
  });
  return entries;
}

function validateLocalTls(v: Validator, value: Json): ProxyConfig['tls'] {
  const raw = v.object(value, 'tls');
  if (!raw) return undefined;
  v.unknownKeys(raw, 'tls', ['certFile', 'keyFile']);
  const cert = v.pemFile(raw.certFile, 'tls.certFile', 'CERTIFICATE');
  const key = v.pemFile(raw.keyFile, 'tls.keyFile', 'PRIVATE KEY');
  return cert && key ? { cert, key: new Secret(key) } : undefined;
}

function validateHttpProxy(v: Validator, value: Json): HttpProxyConfig | undefined {
  const key = 'upstream.httpProxy';
  const raw = v.object(value, key);
  if (!raw) return undefined;
  v.unknownKeys(raw, key, ['url', 'username', 'password', 'forMail']);
  const text = v.string(raw.url, `${key}.url`, 'the proxy\'s address, e.g. "http://proxy.corp.example:3128" or "${env:HTTPS_PROXY}"');
  if (raw.forMail !== undefined && typeof raw.forMail !== 'boolean') v.problem(`${key}.forMail`, 'must be true or false', 'use true to tunnel IMAP, POP3 and SMTP through the proxy as well');
  const hasUsername = raw.username !== undefined && raw.username !== null;
  const hasPassword = raw.password !== undefined && raw.password !== null;
  if (hasUsername !== hasPassword) v.problem(key, 'has only one of username and password', 'give both, the password as "${env:NAME}"');
  const username = hasUsername ? v.string(raw.username, `${key}.username`, 'the proxy account name') : undefined;
  const password = hasPassword ? v.string(raw.password, `${key}.password`, 'the proxy account\'s password, as "${env:NAME}"') : undefined;
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
  if (inUrl && hasUsername) v.problem(key, 'has credentials both in url and in username/password', 'keep one of them');
  const credentials = inUrl ?? (username !== undefined && password !== undefined ? { username, password } : undefined);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 80 : Number(url.port),
    ...(credentials ? { auth: { username: credentials.username, password: new Secret(credentials.password) } } : {}),
    forMail: raw.forMail === true,
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
