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
  /** Device code flow: `interval` the device-code endpoint hands out, default 5 (as Entra). */
  deviceCodeIntervalSeconds?: number;
  /** Device code flow: `expires_in` of a device code, default 900 (as Entra). */
  deviceCodeLifetimeSeconds?: number;
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
  /**
   * "Allow public client flows" on the registration: device code and refresh requests without
   * a client credential. Off (the default): Entra answers them with AADSTS7000218 — except
   * the code flow through a registered desktop redirect URI and the refresh tokens it hands
   * out, which a public client may use either way. Flip it on the object to turn it off later.
   */
  allowPublicClient?: boolean;
  /**
   * Delegated permissions on Office 365 Exchange Online with consent, by short name
   * (default DELEGATED_SCOPES: IMAP.AccessAsUser.All, POP.AccessAsUser.All, SMTP.Send). A token
   * request naming any other Exchange scope gets AADSTS65001 (consent_required). Flip it on the
   * object to withdraw consent.
   */
  delegatedScopes?: string[];
  /**
   * Redirect URIs of the "Mobile and desktop applications" platform (default
   * ['http://localhost', 'http://127.0.0.1']). For loopback URIs the port is ignored, as Entra does.
   */
  redirectUris?: string[];
}

/** A person in the directory, who signs in with delegated flows. */
export interface SandboxUser {
  /** User principal name, also the primary SMTP address of the user's own mailbox. */
  upn: string;
  /** Token claim `oid`; what grantFullAccess takes to let the user open a shared mailbox. */
  objectId: string;
  displayName: string;
  /**
   * Makes every refresh-token request of this user fail as Entra does for that cause (see
   * SignInFailure); undefined: none. Device code and browser sign-ins are not affected.
   */
  failure?: SignInFailure;
}

/**
 * Why a refresh token is no longer good, answered as Entra does (HTTP 400; `error`,
 * AADSTS code, `suberror` where Entra sends one):
 * - 'expired': invalid_grant, 70008 (expired or unused too long)
 * - 'inactive': invalid_grant, 700082 (inactive for 90 days)
 * - 'revoked': invalid_grant, 50173 (password changed or reset, grant revoked; also revokeSignIns)
 * - 'mfa-required': invalid_grant, 50076, suberror basic_action
 * - 'mfa-enrollment-required': invalid_grant, 50079, suberror basic_action
 * - 'conditional-access': invalid_grant, 53003, suberror message_only
 * - 'consent-withdrawn': invalid_grant, 65001, suberror consent_required
 */
export type SignInFailure = 'expired' | 'inactive' | 'revoked' | 'mfa-required' | 'mfa-enrollment-required' | 'conditional-access' | 'consent-withdrawn';

export interface Endpoint {
  host: string;
  port: number;
}

export interface SandboxStats {
  /** POSTs to the token endpoint, answered or not. */
  tokenRequests: number;
  /** Of those, refresh_token grants. */
  refreshRequests: number;
  /** POSTs to the device code endpoint. */
  deviceCodeRequests: number;
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

/**
 * Delegated sign-in (a person's own mailbox), as the sandbox's Entra plays it:
 * - POST {authorityHost}/{tenant}/oauth2/v2.0/devicecode → user_code (9 capitals/digits),
 *   device_code, verification_uri "https://microsoft.com/devicelogin", expires_in, interval,
 *   message. Polls (grant_type urn:ietf:params:oauth:grant-type:device_code, or MSAL's
 *   "device_code") answer authorization_pending (70016) until approveDeviceCode, slow_down
 *   to a poll sooner than `interval` after the last one, authorization_declined (65004),
 *   expired_token (70019), bad_verification_code for an unknown or spent code.
 * - GET /{tenant}/oauth2/v2.0/authorize (response_type=code, redirect_uri, scope, state,
 *   code_challenge + S256 or plain, login_hint, prompt=none, nonce, client_info=1) answers 302
 *   to redirect_uri?code&state&session_state (+client_info); an unregistered redirect_uri gets
 *   an HTML error page (50011), a declining person error=access_denied. The token endpoint
 *   checks code_verifier (501481), redirect_uri (50011), single use (54005).
 * - {tenant} is the tenant ID, "organizations" or "common" ("consumers": 90002).
 * - Scope: one resource. `https://outlook.office365.com/…` and `https://outlook.office.com/…`
 *   give a token with that `aud`, which Exchange takes; "/.default" means every consented
 *   permission; an unprefixed name ("IMAP.AccessAsUser.All") means Microsoft Graph, and
 *   Exchange refuses that token. Plus openid (→ id_token), profile, offline_access
 *   (→ refresh_token), email. Answers carry `scope` (resource-prefixed permissions, then
 *   openid/profile/email), expires_in, ext_expires_in, and client_info when asked (client_info=1).
 * - Access tokens: v1, iss https://sts.windows.net/{tid}/, `scp` (space-separated), upn,
 *   unique_name, oid, tid, name, appid, appidacr "0", idtyp "user", no `roles`. id_tokens: v2,
 *   aud = client ID, iss {authorityHost}/{tid}/v2.0, preferred_username, name, oid, tid, nonce.
 * - Refresh tokens rotate: every refresh answer carries a new one. The old one is NOT revoked
 *   by that (Entra: "doesn't revoke old refresh tokens when used to fetch new access tokens"),
 *   so it keeps working until a failure switch or revokeSignIns ends it.
 * - Exchange takes a delegated token for the user's own mailbox (address = UPN) or one the
 *   user has FullAccess on (grantFullAccess with the user's objectId), with the protocol's
 *   scope: IMAP.AccessAsUser.All, POP.AccessAsUser.All, SMTP.Send. Otherwise it answers as to
 *   app-only tokens: other mailbox → IMAP "not connected", POP3 -ERR, SMTP 430; no scope →
 *   the protocol's authentication failure.
 */
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
  /** Add-MailboxPermission -AccessRights FullAccess for a service principal's or a user's object ID. */
  grantFullAccess(mailbox: string, objectId: string): void;
  /**
   * A person who can sign in with delegated flows; their own mailbox (address = upn) is
   * created with addMailbox unless it exists. Returned by reference: set `failure` on it.
   */
  addUser(upn: string, options?: { displayName?: string; objectId?: string }): SandboxUser;
  /**
   * Plays the person at the verification URL: signs in as `upn` and approves the device code
   * (user_code as handed out, case-insensitive). The next poll gets the tokens. Throws for an
   * unknown, expired or already answered code or an unknown user.
   */
  approveDeviceCode(userCode: string, upn: string): void;
  /** Plays the person declining: the next poll gets authorization_declined. */
  declineDeviceCode(userCode: string): void;
  /** Ends a device code's lifetime now: the next poll gets expired_token (AADSTS70019). */
  expireDeviceCode(userCode: string): void;
  /** User codes handed out and not yet answered, oldest first. */
  pendingDeviceCodes(): string[];
  /**
   * Who is signed in in "the browser" that follows GET /authorize (undefined: nobody). A
   * `login_hint` naming a known user takes precedence. With `decline`, the person refuses:
   * the redirect carries error=access_denied (AADSTS65004).
   */
  setBrowserUser(upn: string | undefined, options?: { decline?: boolean }): void;
  /**
   * Makes one refresh token fail for `failure` (tokens issued before or after it are not
   * touched); undefined clears it. Throws for a token the sandbox never issued.
   */
  failRefreshToken(refreshToken: string, failure: SignInFailure | undefined): void;
  /** Revoke-MgUserSignInSession: every refresh token issued to the user so far fails with 50173. */
  revokeSignIns(upn: string): void;
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
