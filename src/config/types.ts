import type { Secret } from './secret.js';

export const PROTOCOLS = ['imap', 'pop3', 'smtp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const TLS_MODES = ['none', 'starttls', 'implicit'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface HostPort {
  host: string;
  port: number;
}

export type AppCredential =
  | { kind: 'secret'; clientSecret: Secret }
  | { kind: 'certificate'; privateKey: Secret; certificatePem: string; thumbprintSha256: string }
  /** A public client: only delegated accounts use it, and a person signs in for each. */
  | { kind: 'none' };

/** An Entra ID app registration the proxy gets tokens for. */
export interface AppConfig {
  name: string;
  tenantId: string;
  clientId: string;
  credential: AppCredential;
  /** e.g. https://login.microsoftonline.com (no tenant, no trailing slash). */
  authorityHost: string;
  scope: string;
  /** The scope of Microsoft Graph tokens (a token has one audience: Graph's and Outlook's differ). */
  graphScope: string;
}

/** How an account's SMTP clients' mail leaves: SMTP AUTH at Exchange, Microsoft Graph, or SMTP AUTH until Exchange says it is disabled. */
export const SMTP_PATHS = ['smtp', 'graph', 'auto'] as const;
export type SmtpVia = (typeof SMTP_PATHS)[number];

/** A local login: who may use the proxy, for which mailbox, through which app. */
export interface AccountConfig {
  /** Local username as configured; matched case-insensitively. */
  username: string;
  passwordHash: string;
  mailbox: string;
  app: string;
  protocols: readonly Protocol[];
  /** app: client-credentials tokens; delegated: a person's stored sign-in (o365-mail-proxy login). */
  auth: AccountAuth;
  smtpVia: SmtpVia;
}

export const ACCOUNT_AUTH = ['app', 'delegated'] as const;
export type AccountAuth = (typeof ACCOUNT_AUTH)[number];

/** Where delegated accounts' sign-ins are kept. */
export interface TokenStoreConfig {
  /** Absolute path of the folder. */
  dir: string;
  /** 32 bytes; without it each account's file is encrypted under a key derived from its local password. */
  key?: Secret;
}

export interface ListenerConfig {
  protocol: Protocol;
  host: string;
  port: number;
  tls: TlsMode;
  /** PROXY protocol (v1 and v2) from these balancers (addresses and CIDR ranges); absent: off. */
  proxyProtocol?: readonly string[];
}

/** An HTTP proxy on the way out, used through CONNECT tunnels. */
export interface HttpProxyConfig {
  host: string;
  port: number;
  /** Basic credentials, for proxies that answer 407. */
  auth?: { username: string; password: Secret };
  /** Tunnel the IMAP, POP3 and SMTP connections too, not only the token requests. */
  forMail: boolean;
}

/** Microsoft Graph, for sending (accounts.<u>.smtpVia graph or auto). */
export interface GraphConfig {
  /** e.g. https://graph.microsoft.com (no /v1.0, no trailing slash). */
  url: string;
  maxMessageBytes: number;
  requestTimeoutMs: number;
  /** The most the proxy spends on one message, throttling waits included, before it answers 451. */
  sendTimeoutMs: number;
}

export interface UpstreamConfig {
  imap: HostPort;
  pop3: HostPort;
  smtp: HostPort;
  graph: GraphConfig;
  /** Extra trusted CA certificates (PEM), for tests and TLS-inspecting corporate proxies. */
  ca?: string;
  /** The way out to Microsoft when the network requires a proxy. */
  httpProxy?: HttpProxyConfig;
  connectTimeoutMs: number;
  tlsTimeoutMs: number;
  loginTimeoutMs: number;
  /** Upstream sessions per mailbox and protocol, below Exchange's own limits (0: no cap). */
  maxSessionsPerMailbox: Readonly<Record<Protocol, number>>;
  /** How long a login may wait for a free session or for Exchange's backoff to end. */
  sessionWaitMs: number;
  /** Logins that may wait per mailbox and protocol (0: none wait). */
  maxWaitingPerMailbox: number;
  /** How long new logins are held after a throttling answer that names no time (SMTP). */
  throttleBackoffMs: number;
}

export interface ProxyConfig {
  apps: ReadonlyMap<string, AppConfig>;
  /** Keyed by lower-cased username. */
  accounts: ReadonlyMap<string, AccountConfig>;
  listeners: readonly ListenerConfig[];
  /** Local certificate and key, required when a listener uses TLS. */
  tls?: { cert: string; key: Secret };
  upstream: UpstreamConfig;
  tokens: {
    requestTimeoutMs: number;
    /** Renew a cached token when less than this is left, so new sessions do not die of expiry. */
    minRemainingSeconds: number;
  };
  tokenStore: TokenStoreConfig;
  clients: {
    /**
     * How long a client may stay silent while the proxy itself speaks the protocol to it:
     * IMAP and POP3 before login (after it the pipe is transparent and Exchange's own timers
     * apply), SMTP for the whole session.
     */
    idleTimeoutMs: number;
    /** Failed logins of one username from one address, within the window, before a lockout (0: never). */
    maxFailedLogins: number;
    failedLoginWindowMs: number;
    /** Failed logins one connection may make before it is closed. */
    maxLoginAttemptsPerConnection: number;
    /** The answer to a failed login waits this long, doubling with each further failure (0: no wait). */
    failedLoginDelayMs: number;
    /** Password checks that may wait for a turn (scrypt runs two at a time); past it, "try later". */
    maxQueuedPasswordChecks: number;
    /** Open client connections, all listeners together, from accept until the socket closes. */
    maxConnections: number;
    /** The same from one client address (0: no such limit). */
    maxConnectionsPerAddress: number;
  };
  log: { level: LogLevel; format: 'auto' | 'json' | 'pretty' };
  /** Processes running the listeners ("auto" resolved to the cores); 1: no cluster. */
  workers: number;
  /** Optional HTTP listener for /healthz, /readyz and /metrics; absent means off. */
  admin?: HostPort;
}
