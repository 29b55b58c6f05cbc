// How a login that got past the local check failed: logged with its cause and hint, counted
// by a short label, and worded once for the client (each front says it in its protocol).
import type { Logger } from 'pino';
import type { AccountConfig, Protocol } from '../config/types.js';
import type { ProxyContext } from './context.js';
import { REQUIRED_ROLE } from '../tokens/claims.js';
import { LOG_HINTS } from '../tokens/setup-advice.js';
import { TokenError } from '../tokens/errors.js';
import type { AccessToken } from '../tokens/provider.js';
import { UpstreamError, type UpstreamFailureKind } from '../outbound/errors.js';

/** A login that did not happen; each front words every kind once (fronts/<protocol>/replies.ts). */
export type LoginFailure =
  | { ok: false; kind: 'denied' }
  | { ok: false; kind: 'temporary'; reason: string }
  | { ok: false; kind: 'permanent'; reason: string };

/** A login that failed after the local check: logged, counted, and worded for the client. */
export function failedLogin(error: unknown, account: AccountConfig, protocol: Protocol, log: Logger, ctx: ProxyContext): Exclude<LoginFailure, { kind: 'denied' }> {
  const reason = reasonLabel(error);
  const outcome = failure(error, reason, account, protocol, log);
  ctx.metrics.logins.add({ protocol, result: outcome.kind, reason });
  return outcome;
}

/** What the client is told for the gate's refusals; other temporary failures say "unavailable". */
const TRY_LATER: Partial<Record<UpstreamFailureKind, (mailbox: string) => string>> = {
  busy: (mailbox) => `too many sessions open for ${mailbox}, try again later`,
  throttled: (mailbox) => `Exchange Online is throttling ${mailbox}, try again later`,
  cancelled: () => 'client left',
};

/** Logs why the login failed (`label`, as in the metrics) and words the client's answer. */
function failure(error: unknown, label: string, account: AccountConfig, protocol: Protocol, log: Logger): Exclude<LoginFailure, { kind: 'denied' }> {
  if (error instanceof TokenError) {
    log.warn({ event: 'auth.fail', reason: label, temporary: error.temporary, cause: error.detail }, `no access token: ${error.reason}`);
    return { ok: false, kind: error.temporary ? 'temporary' : 'permanent', reason: error.reason };
  }
  if (error instanceof UpstreamError) {
    const hint = error.kind === 'rejected'
      ? account.auth === 'delegated' ? LOG_HINTS.delegatedTokenRejected(protocol, account.mailbox) : LOG_HINTS.tokenRejected(protocol, account.mailbox)
      : error.kind === 'not-connected'
        ? LOG_HINTS.noMailboxAccess(account.mailbox)
        : undefined;
    // A client that left while waiting is no operator's concern.
    log[error.kind === 'cancelled' ? 'info' : 'warn']({ event: 'auth.fail', reason: label, temporary: error.temporary, cause: error.message, serverReply: error.serverReply, hint }, 'upstream login failed');
    const reason = error.kind === 'rejected'
      ? `Exchange Online refused the token for ${account.mailbox}`
      : error.kind === 'not-connected'
        ? `no access to mailbox ${account.mailbox}`
        : TRY_LATER[error.kind]?.(account.mailbox) ?? 'mail server unavailable, try again later';
    return { ok: false, kind: error.temporary ? 'temporary' : 'permanent', reason };
  }
  log.error({ event: 'auth.fail', reason: label, err: error }, 'login failed unexpectedly');
  return { ok: false, kind: 'temporary', reason: 'internal error, try again later' };
}

/** A short, bounded label for metrics: "token" or "upstream-<kind>". */
function reasonLabel(error: unknown): string {
  if (error instanceof TokenError) return 'token';
  if (error instanceof UpstreamError) return `upstream-${error.kind}`;
  return 'internal';
}

/** Warns when the token lacks the role a protocol needs: Exchange would refuse it, in words that do not say why. */
export function warnAboutMissingRole(token: AccessToken, protocol: Protocol, log: Logger): void {
  const role = REQUIRED_ROLE[protocol];
  if (token.claims && !token.claims.roles.includes(role)) {
    log.warn({ event: 'token.role-missing', role, roles: token.claims.roles, appid: token.claims.appid }, LOG_HINTS.roleMissing(protocol));
  }
}
