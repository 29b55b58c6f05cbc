import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { AccountConfig, Protocol } from '../config/types.js';
import type { LoginFailureReason } from './accounts.js';
import type { ProxyContext } from './context.js';
import { ReserveWaitAborted, type GiveBack } from '../ops/descriptor-reserve.js';
import type { LoginAdmission } from './lockout.js';
import { PasswordChecksBusyError } from './password-check-queue.js';
import type { BasicCredentials } from './sasl/index.js';
import type { Secret } from '../config/secret.js';
import type { AccessToken } from '../tokens/provider.js';
import { UpstreamError } from '../outbound/errors.js';
import { failedLogin, warnAboutMissingRole, type LoginFailure } from './login-failures.js';
import type { Closable } from '../upstream/mailbox-gate.js';
import { enterGate, recognizeThrottling } from '../upstream/mailbox-limits.js';
import type { OpenUpstream } from '../upstream/session.js';

export type { LoginFailure } from './login-failures.js';
export { failedLogin, warnAboutMissingRole } from './login-failures.js';

/**
 * How a login ended, in the three shapes every protocol can express:
 * - denied: local credentials wrong (or user unknown, or protocol not allowed) — the client
 *   gets one generic answer, the log says which;
 * - temporary: try again later (token service or upstream unreachable, timeouts);
 * - permanent: the setup is wrong (bad client secret, no mailbox permission) — the reason is
 *   short and safe to show, the log has the full cause.
 */
export type LoginOutcome<U> = { ok: true; account: AccountConfig; upstream: U } | LoginFailure;

/** An upstream session: its connection closing ends its place among the mailbox's sessions. */
export interface Upstream {
  readonly socket: Closable;
}

/** Opens the upstream session for an account with a token (protocol-specific). */
export type UpstreamLogin<U extends Upstream> = (account: AccountConfig, token: AccessToken) => Promise<U>;

/** The UpstreamLogin of one protocol's XOAUTH2 login (upstream/), against the servers of `ctx`. */
export function upstreamLogin<U extends Upstream & { readonly socket: Socket }>(ctx: ProxyContext, open: OpenUpstream<U>): UpstreamLogin<U> {
  return (account, token) => open(ctx.connector, ctx.config.upstream, account.mailbox, token.token);
}

/** One client's try: what it sent, over which protocol, from where. */
export interface LoginAttempt {
  credentials: BasicCredentials;
  protocol: Protocol;
  clientAddress: string;
  /** Failed logins on this connection before this one: the failure delay grows with them. */
  previousFailures?: number;
  /** Aborted when the client leaves: a login waiting for a free upstream session gives up. */
  signal?: AbortSignal;
}

/** The global timer, not node:timers/promises: unit tests run the failure delay on fake timers. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Failures that look like guessing; the others come after a correct password. */
const GUESSES: ReadonlySet<LoginFailureReason> = new Set(['wrong-password', 'unknown-user', 'not-utf8']);

/**
 * The login path shared by IMAP, POP3 and SMTP: local credentials → a place among the
 * mailbox's upstream sessions → access token → upstream XOAUTH2 login, retried once with a
 * fresh token when the upstream refuses the token.
 */
export async function login<U extends Upstream>(ctx: ProxyContext, attempt: LoginAttempt, log: Logger, openUpstream: UpstreamLogin<U>): Promise<LoginOutcome<U>> {
  const started = Date.now();
  const local = await checkCredentials(ctx, attempt, log);
  if (!local.ok) return local;
  return connectUpstream(ctx, local.account, attempt, local.log, openUpstream, started);
}

/** The local half of a login, on its own: the account, and a logger that names it. */
export async function checkCredentials(ctx: ProxyContext, attempt: LoginAttempt, log: Logger): Promise<{ ok: true; account: AccountConfig; log: Logger } | LoginFailure> {
  const local = await checkLocally(ctx, attempt, log);
  if (!local.ok) return local.outcome;
  const { account } = local;
  const userLog = log.child({ user: account.username, mailbox: account.mailbox, app: account.app });
  userLog.info({ event: 'auth.local.ok' }, 'local credentials accepted');
  return { ok: true, account, log: userLog };
}

/** The upstream half of a login, for an account whose local credentials were accepted. */
export async function connectUpstream<U extends Upstream>(ctx: ProxyContext, account: AccountConfig, attempt: LoginAttempt, userLog: Logger, openUpstream: UpstreamLogin<U>, started = Date.now()): Promise<LoginOutcome<U>> {
  const { protocol } = attempt;
  try {
    // Within Exchange's per-mailbox limits: a place among the mailbox's sessions first (maybe
    // after a short wait), held until the upstream connection closes, whoever closes it.
    const slot = await enterGate(ctx, account.mailbox, protocol, attempt.signal);
    let upstream: U;
    try {
      // A login may hold one descriptor more than the two its session keeps (open-files budget).
      const giveBack = await takeLoginDescriptor(ctx, attempt.signal);
      const tokens = tokenSource(ctx, account, attempt.credentials.password);
      upstream = await openWithRetry(ctx, account, protocol, userLog, openUpstream, tokens).finally(giveBack);
    } catch (error) {
      slot.release();
      throw error;
    }
    slot.holdUntilClosed(upstream.socket);
    userLog.info({ event: 'auth.ok', durationMs: Date.now() - started }, 'logged in upstream');
    ctx.metrics.logins.add({ protocol, result: 'ok', reason: '' });
    return { ok: true, account, upstream };
  } catch (error) {
    return failedLogin(error, account, protocol, userLog, ctx);
  }
}

type LocalCheck = { ok: true; account: AccountConfig } | { ok: false; outcome: LoginFailure };

/**
 * The local half of a login: lockout, password check (bounded queue), failure delay. Every
 * refusal looks the same to the client and takes at least the failure delay, so neither the
 * answer nor its timing tells a guesser which usernames exist or that it got locked out.
 */
async function checkLocally(ctx: ProxyContext, attempt: LoginAttempt, log: Logger): Promise<LocalCheck> {
  const { credentials, protocol, clientAddress } = attempt;
  const connectionFailures = (attempt.previousFailures ?? 0) + 1;
  const denied = async (reason: LoginFailureReason | 'too-many-failures', pairFailures: number, details: Record<string, unknown> = {}): Promise<LocalCheck> => {
    log.warn({ event: 'auth.fail', ...loggableUser(ctx, credentials.username), reason, ...details }, 'local authentication failed');
    ctx.metrics.logins.add({ protocol, result: 'denied', reason });
    await sleep(failureDelayMs(ctx.config.clients.failedLoginDelayMs, Math.max(pairFailures, connectionFailures)));
    return { ok: false, outcome: { ok: false, kind: 'denied' } };
  };
  let admission: LoginAdmission;
  try {
    admission = await ctx.failedLogins.begin(clientAddress, credentials.username, ctx.accounts.fingerprint(credentials));
  } catch (error) {
    // A worker whose primary is gone cannot count: no password check without the count.
    log.error({ event: 'auth.fail', reason: 'internal', cause: (error as Error).message }, 'the failed-login count is out of reach');
    return { ok: false, outcome: { ok: false, kind: 'temporary', reason: 'internal error, try again later' } };
  }
  // A locked-out pair gets the same answer as a wrong password, and costs no scrypt run.
  if (admission.locked) {
    return denied('too-many-failures', admission.failures, { lockedUntil: new Date(admission.until).toISOString(), hint: `${ctx.failedLogins.maxFailures} failed logins from ${clientAddress}: refused until then (clients.maxFailedLogins)` });
  }
  const { ticket } = admission;
  let check: Awaited<ReturnType<ProxyContext['accounts']['check']>>;
  try {
    check = await ctx.accounts.check(credentials, protocol, clientAddress);
  } catch (error) {
    ticket.abandoned();
    if (!(error instanceof PasswordChecksBusyError)) throw error;
    log.warn({ event: 'auth.busy', hint: 'too many password checks are waiting (clients.maxQueuedPasswordChecks); many clients logging in for the first time at once, or someone guessing' }, 'password check refused: queue full');
    ctx.metrics.logins.add({ protocol, result: 'temporary', reason: 'busy' });
    return { ok: false, outcome: { ok: false, kind: 'temporary', reason: 'too many logins at once, try again later' } };
  }
  if (!check.ok) {
    const pairFailures = GUESSES.has(check.reason) ? await Promise.resolve(ticket.failed()).catch(() => 0) : (ticket.abandoned(), 0);
    const hint = check.reason === 'not-utf8'
      ? 'the client sent a username or password that is not UTF-8 (javax.mail before 1.6 sends Latin-1 over SMTP AUTH); give this account an ASCII-only password'
      : undefined;
    return denied(check.reason, pairFailures, hint ? { hint } : {});
  }
  ticket.succeeded();
  return { ok: true, account: check.account };
}

/** Longest wait before a failed login is answered, however many failures came before. */
const MAX_FAILURE_DELAY_MS = 15_000;

/** `base` for the first failure, doubling with each further one, up to MAX_FAILURE_DELAY_MS. */
export function failureDelayMs(base: number, failures: number): number {
  if (base === 0) return 0;
  return Math.min(base * 2 ** Math.min(Math.max(failures, 1) - 1, 16), Math.max(base, MAX_FAILURE_DELAY_MS));
}

/**
 * A configured username is logged as is. Anything else may be a password typed into the
 * username field, so it is logged only as its length and a keyed hash (equal names, equal
 * hash, within this process).
 */
function loggableUser(ctx: ProxyContext, username: string): Record<string, unknown> {
  if (ctx.accounts.knows(username)) return { user: username };
  return { unknownUser: { length: [...username].length, hash: ctx.accounts.hashUsername(username) } };
}

/** A descriptor from the reserve for logins in progress; waits its turn, gives up when the client leaves. */
async function takeLoginDescriptor(ctx: ProxyContext, signal: AbortSignal | undefined): Promise<GiveBack> {
  try {
    return await ctx.descriptors.take(signal);
  } catch (error) {
    if (error instanceof ReserveWaitAborted) throw new UpstreamError('cancelled', error.message);
    throw error;
  }
}

/** Where an account's access token comes from; `rejected`: the token Exchange refused, to be replaced. */
type AccountTokens = (rejected?: Secret) => Promise<AccessToken>;

/**
 * The app's client-credentials token, or the account's own sign-in (auth "delegated"). Without
 * tokenStore.key a sign-in can only be opened with the password the client just gave, which is
 * why it travels this far.
 */
function tokenSource(ctx: ProxyContext, account: AccountConfig, password: Secret): AccountTokens {
  if (account.auth === 'delegated') {
    const signIn = ctx.signIns.get(account.username.toLowerCase())!;
    return (rejected) => signIn.getToken(password, rejected);
  }
  const provider = ctx.tokens.get(account.app)!;
  return (rejected) => provider.getToken(rejected);
}

/** Token, then the upstream login; once more with a fresh token when Exchange refused the first. */
async function openWithRetry<U extends Upstream>(ctx: ProxyContext, account: AccountConfig, protocol: Protocol, log: Logger, openUpstream: UpstreamLogin<U>, tokens: AccountTokens): Promise<U> {
  let token = await tokens();
  if (account.auth === 'app') warnAboutMissingRole(token, protocol, log);
  const open = async (withToken: AccessToken) => {
    const opening = Date.now();
    // A throttling answer is never retried: that would be hammering what asked for a pause.
    const session = await openUpstream(account, withToken).catch((error: unknown) => {
      throw recognizeThrottling(ctx, account.mailbox, protocol, error, log);
    });
    ctx.metrics.upstreamLoginSeconds.observe({ protocol }, (Date.now() - opening) / 1000);
    return session;
  };
  try {
    return await open(token);
  } catch (error) {
    if (!(error instanceof UpstreamError && error.kind === 'rejected')) throw error;
    log.warn({ event: 'upstream.token-rejected', cause: error.message, serverReply: error.serverReply }, 'upstream refused the token; retrying once with a fresh one');
    token = await tokens(token.token);
    return open(token);
  }
}
