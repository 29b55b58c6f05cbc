// The sandbox's public shapes (re-exported by index.ts). Kept apart so that internal modules
// can share them without importing index.ts.

export interface SandboxOptions {
  /** Listening ports; 0 (the default) picks a free port. Everything listens on 127.0.0.1. */
  ports?: { entra?: number; imap?: number; pop3?: number; smtp?: number };
  /** `expires_in` of issued access tokens, default 3600. */
  tokenLifetimeSeconds?: number;
  /** Directory (tenant) ID, default a fixed GUID. */
  tenantId?: string;
  /**
   * The resource Exchange accepts tokens for (the scope minus "/.default"), default
   * "https://outlook.office365.com". Lets the sandbox stand in for a sovereign cloud.
   */
  exchangeAudience?: string;
}

export interface SandboxApp {
  /** Application (client) ID; token claim `appid`. */
  clientId: string;
  /** Service-principal (Enterprise application) object ID; token claims `oid` and `sub`. */
  objectId: string;
  /** The accepted client secret, if the app has one. */
  clientSecret?: string;
  /** Accepted client certificate (PEM) for client_assertion authentication. */
  certificatePem?: string;
  /** App roles granted with admin consent, e.g. ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp']. */
  roles: string[];
  /** Registered in Exchange with New-ServicePrincipal. */
  servicePrincipalRegistered: boolean;
  /** Display name (token claim `app_displayname`). */
  displayName?: string;
}

export interface Endpoint {
  host: string;
  port: number;
}

export interface SandboxStats {
  /** POSTs to the token endpoint, answered or not. */
  tokenRequests: number;
  /** Successful XOAUTH2 logins per protocol. */
  imapLogins: number;
  pop3Logins: number;
  smtpLogins: number;
  /** Client connections accepted per protocol, whatever became of them. */
  imapConnections: number;
  pop3Connections: number;
  smtpConnections: number;
}

export interface SandboxControls {
  /** Token endpoint answers HTTP 503 temporarily_unavailable. */
  entraDown: boolean;
  /** Delay before the token endpoint answers (a slow or hanging Entra). */
  entraDelayMs: number;
  /** SMTP AUTH answers 535 5.7.139 (SmtpClientAuthentication disabled for the tenant). */
  smtpAuthDisabled: boolean;
  /** Failed XOAUTH2 first gets a base64 JSON continuation (Gmail/Dovecot style). */
  errorChallenge: boolean;
  /**
   * Logged-in sessions allowed per mailbox and protocol at once; 0 (the default): no limit.
   * Exchange documents no wording for the IMAP and POP3 limits (16 by default); past it the
   * sandbox answers as reported: IMAP accepts the token, then says `BAD User is authenticated
   * but not connected.` to every command (node-imap#523); POP3 closes the connection without
   * a word (on-premises Exchange logs UserConnectionLimitReached and does so); SMTP answers AUTH
   * with `432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending
   * ...` (Exchange Online says it to a fourth concurrent sender).
   */
  sessionLimitPerMailbox: number;
  /**
   * Delay before SMTP answers the end of a message (DATA's final dot, BDAT LAST): a slow
   * Exchange. The message is already delivered while the answer waits.
   */
  smtpDataReplyDelayMs: number;
}

export interface Sandbox {
  tenantId: string;
  /** e.g. "https://127.0.0.1:43567" (no trailing slash). */
  authorityHost: string;
  /** PEM of the certificate every sandbox TLS server presents; clients trust it as their CA. */
  caPem: string;
  /** Implicit TLS. */
  imap: Endpoint;
  /** Implicit TLS. */
  pop3: Endpoint;
  /** Plain TCP; STARTTLS required before AUTH. */
  smtp: Endpoint;
  /** Fills in random GUIDs and a random secret; default roles = all three, servicePrincipalRegistered = true. */
  registerApp(app: Partial<SandboxApp> & { roles?: string[] }): SandboxApp;
  /** An in-memory mailbox with INBOX (holding `messages`), "Sent Items" and "Archive". */
  addMailbox(address: string, messages?: Buffer[]): void;
  /** Add-MailboxPermission -AccessRights FullAccess for a service principal's object ID. */
  grantFullAccess(mailbox: string, objectId: string): void;
  /** Raw RFC 5322 messages of a folder (default INBOX), byte-exact; [] for an unknown mailbox or folder. */
  messages(mailbox: string, folder?: string): Buffer[];
  stats: SandboxStats;
  controls: SandboxControls;
  /** How access tokens are signed, so that a real mail server (Dovecot) can be told to trust them. */
  tokenSigning: { kid: string; publicKeyPem: string; issuer: string; audience: string };
  /**
   * Throttles a mailbox for `ms`: until then a valid login gets Exchange's throttling answer,
   * IMAP `<tag> BAD Request is throttled. Suggested Backoff Time: <ms left> milliseconds` then
   * `* BYE Connection closed. 14` and the close; POP3 `-ERR` with the same words and the close;
   * SMTP `451 4.7.500 Server busy. Please try again later from [<address>]. (S77719)` to AUTH
   * and to MAIL in a session that logged in before.
   */
  throttle(mailbox: string, ms: number): void;
  /** Abruptly destroys every open IMAP/POP3/SMTP client connection. */
  dropConnections(): void;
  /** How many IMAP/POP3/SMTP client connections are open now. */
  openConnections(): number;
  /** Closes all servers and connections. */
  close(): Promise<void>;
}
