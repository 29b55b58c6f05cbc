// The sandbox's public shapes (re-exported by index.ts). Kept apart so that internal modules
// can share them without importing index.ts.

export interface SandboxOptions {
  /** Listening ports; 0 (the default) picks a free port. Everything listens on 127.0.0.1. */
  ports?: { entra?: number; imap?: number; pop3?: number; smtp?: number; graph?: number };
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
  /**
   * Application roles granted with admin consent on **Microsoft Graph** (token claim `roles` of
   * a token for `<graphUrl>/.default`), default ['Mail.Send']: the least privilege for sending
   * with `POST /users/{id}/sendMail`, and what the README has users grant. The draft path
   * (create from MIME, set recipients, attach, send) also needs 'Mail.ReadWrite'; register the
   * app with both to test it. Exchange's roles (`roles`) do not apply to Graph and vice versa.
   */
  graphRoles?: string[];
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
  /**
   * Graph requests by the HTTP status answered ("202", "429", ...), and "dropped" for requests
   * whose connection the sandbox cut on purpose (see Sandbox.graphFault).
   */
  graphRequests: Record<string, number>;
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
  /**
   * Delay before the Graph endpoint acts on a request (after reading its body): a slow
   * Exchange, so that concurrent requests overlap (see Sandbox.graphConcurrency). Setting it
   * back to 0 releases the requests waiting now.
   */
  graphDelayMs: number;
  /**
   * The sending mailbox's size limit (Exchange's MaxSendSize, 35 MB = 35 MiB by default, up to
   * 150 MB). A send whose MIME is larger, or an upload that would make the draft larger, gets
   * 400 ErrorMessageSizeExceeded "The message exceeds the maximum supported size."
   */
  graphMaxMessageBytes: number;
}

/** A recipient as Graph resolved it. */
export interface GraphRecipient {
  /** As written (case kept). */
  address: string;
  /** Display name; Graph shows the address when there is none. */
  name: string;
}

/** A file attached to a draft with POST .../attachments or an upload session. */
export interface GraphAttachment {
  name: string;
  contentType: string;
  /** The decoded bytes. */
  content: Buffer;
}

/** A message the sandbox's Graph accepted for delivery (HTTP 202). */
export interface GraphSentMessage {
  /** The sending mailbox (the {id | userPrincipalName} of the URL, as the sandbox knows it). */
  mailbox: string;
  /** `sendMail` (MIME in one request) or `draft` (POST messages, ..., POST messages/{id}/send). */
  via: 'sendMail' | 'draft';
  /** Recipients as Graph resolved them: from the MIME headers, or as last set on the draft. */
  to: GraphRecipient[];
  cc: GraphRecipient[];
  bcc: GraphRecipient[];
  /**
   * The MIME as delivered to every recipient, byte-exact: the client's, without the Bcc header;
   * for a draft, To/Cc re-rendered (first in the header) if PATCH changed them, and files added
   * as base64 parts of a multipart/mixed. (Exchange re-renders more; the sandbox only what it must.)
   */
  mime: Buffer;
  /** Files added to the draft (sendMail: none; attachments inside the MIME stay in `mime`). */
  attachments: GraphAttachment[];
  /** Always true for MIME sendMail and for a sent draft (neither form can turn it off). */
  savedToSentItems: boolean;
  /** Recipient addresses that have a mailbox here and got `mime` in their INBOX. */
  deliveredTo: string[];
  /** `request-id` of the answer that accepted it. */
  requestId: string;
}

/** The Graph operations the sandbox implements, for aiming a fault at one of them. */
export type GraphOperation = 'sendMail' | 'createMessage' | 'getMessage' | 'updateMessage' | 'deleteMessage'
  | 'addAttachment' | 'createUploadSession' | 'uploadChunk' | 'send'
  /** GET mailFolders/SentItems/messages?$filter=internetMessageId eq '<id>' */
  | 'listSentItems';

export interface GraphFault {
  /**
   * - `throttle`: 429 ApplicationThrottled "Application is over its RequestRate limit." with
   *   `Retry-After` (nothing done);
   * - `unavailable`: 503 serviceNotAvailable with `Retry-After` (nothing done);
   * - `drop-before`: read the request, then cut the connection without acting or answering;
   * - `drop-after`: act on the request (a send DOES go out), then cut the connection instead
   *   of answering: the case a client must handle without sending twice.
   */
  kind: 'throttle' | 'unavailable' | 'drop-before' | 'drop-after';
  /** How many matching requests get it, default 1. */
  count?: number;
  /** Only requests for this operation, default any (with a valid token). */
  operation?: GraphOperation;
  /** `Retry-After` seconds for throttle/unavailable, default 1. */
  retryAfterSeconds?: number;
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
  /**
   * The Microsoft Graph stand-in, e.g. "https://127.0.0.1:43569" (no trailing slash; HTTPS with
   * `caPem`). Requests go to `<graphUrl>/v1.0/users/{userPrincipalName}/...`; tokens for it are
   * asked for with scope `<graphUrl>/.default` and carry the app's `graphRoles`.
   */
  graphUrl: string;
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
  /**
   * A user the directory knows but whose mailbox is not in Exchange Online (on-premises in a
   * hybrid setup, or unlicensed): Graph answers its mail calls with 404
   * MailboxNotEnabledForRESTAPI "REST API is not yet supported for this mailbox." (an unknown
   * user gets 404 ErrorInvalidUser).
   */
  addUserWithoutMailbox(address: string): void;
  /** Messages Graph accepted from `mailbox` (all mailboxes when omitted), oldest first. */
  graphSent(mailbox?: string): GraphSentMessage[];
  /** Ids of the drafts now in `mailbox` (made by POST messages, not yet sent or deleted). */
  graphDrafts(mailbox: string): string[];
  /**
   * Queues a fault for the next matching Graph request(s); faults are used up in order. A fault
   * hits only requests that pass the token, permission, mailbox, access-policy and concurrency
   * checks (the ones Graph would act on).
   */
  graphFault(fault: GraphFault): void;
  clearGraphFaults(): void;
  /**
   * Send As: addresses `mailbox` may put in `From` besides its own (replaces the list).
   * Another From gets 403 ErrorSendAsDenied.
   */
  allowSendAs(mailbox: string, addresses: string[]): void;
  /**
   * An application access policy / RBAC for Applications scope: the app may reach only
   * `mailboxes` over Graph (null lifts it). Others get 403 ErrorAccessDenied "Access to OData
   * is disabled." (the text Microsoft documents for this refusal).
   */
  restrictGraphAccess(clientId: string, mailboxes: string[] | null): void;
  /**
   * Graph requests in flight for `mailbox` now, and the most seen at once (counting requests
   * refused for it). Graph allows 4 per app and mailbox; a fifth gets 429 ApplicationThrottled
   * "Application is over its MailboxConcurrency limit." with Retry-After 1. The sandbox counts
   * all apps together (tests use one app per mailbox).
   */
  graphConcurrency(mailbox: string): { now: number; max: number };
  /** Abruptly destroys every open IMAP/POP3/SMTP client connection. */
  dropConnections(): void;
  /** How many IMAP/POP3/SMTP client connections are open now. */
  openConnections(): number;
  /** Closes all servers and connections. */
  close(): Promise<void>;
}
