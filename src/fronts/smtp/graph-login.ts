import type { Logger } from 'pino';
import type { ProxyContext } from '../../auth/context.js';
import { failedLogin, type Upstream, type UpstreamLogin } from '../../auth/login.js';
import type { AccountConfig } from '../../config/types.js';
import { UpstreamError } from '../../outbound/errors.js';
import { replyTo } from '../replies.js';
import { newGraphSending } from './graph-session.js';
import type { RelaySession } from './session-state.js';
import { SMTP_REPLIES, type SmtpAnswer } from './replies.js';

/** The application permission Graph's sendMail needs; the draft path needs Mail.ReadWrite too. */
export const GRAPH_SEND_ROLE = 'Mail.Send';

/** Whether this account's mail goes through Graph now: configured so, or "auto" after Exchange said SMTP AUTH is disabled. */
export function sendsThroughGraph(ctx: ProxyContext, account: AccountConfig): boolean {
  return account.smtpVia === 'graph' || (account.smtpVia === 'auto' && ctx.smtpAuthDisabled.has(account.username.toLowerCase()));
}

/**
 * AUTH for an account that sends through Graph: no upstream SMTP session; the Graph token is
 * fetched now, so a setup error shows at AUTH as it would with SMTP AUTH.
 */
export async function graphLogIn(relay: RelaySession, account: AccountConfig, log: Logger, afterFallback = false): Promise<SmtpAnswer | 'ok' | 'client-left'> {
  const { ctx } = relay;
  const tokens = ctx.graphTokens.get(account.app)!;
  try {
    const token = await tokens.getToken();
    if (token.claims && !token.claims.roles.includes(GRAPH_SEND_ROLE)) {
      log.warn({ event: 'token.role-missing', role: GRAPH_SEND_ROLE, roles: token.claims.roles, appid: token.claims.appid }, 'the Graph token lacks Mail.Send: add the Mail.Send application permission on Microsoft Graph and grant admin consent');
    }
  } catch (error) {
    return replyTo(SMTP_REPLIES, failedLogin(error, account, 'smtp', log, ctx))!;
  }
  if (relay.left.signal.aborted) return 'client-left';
  relay.account = account;
  relay.graph = newGraphSending(tokens);
  log.info({ event: 'auth.ok', via: 'graph' }, 'logged in; mail goes through Microsoft Graph');
  // After the "auto" fallback the SMTP login already counted this one.
  if (!afterFallback) ctx.metrics.logins.add({ protocol: 'smtp', result: 'ok', reason: '' });
  return 'ok';
}

/** What an "auto" account's SMTP login yields when Exchange says SMTP AUTH is disabled: no session. */
export const SMTP_AUTH_DISABLED: Upstream = { socket: { closed: true, once: () => undefined } };

/** Exchange's answer when SMTP AUTH is off for the tenant or the mailbox (exchange-online.md). */
export function isSmtpAuthDisabled(error: unknown): boolean {
  return error instanceof UpstreamError && /^535[ -]5\.7\.139 /m.test(error.serverReply ?? '') && /SmtpClientAuthentication is disabled/i.test(error.serverReply ?? '');
}

/**
 * An "auto" account's SMTP login: Exchange's "SMTP AUTH disabled" becomes SMTP_AUTH_DISABLED,
 * so the login does not fail (or retry with a fresh token) but turns to Graph.
 */
export function fallingBackToGraph<U extends Upstream>(account: AccountConfig, open: UpstreamLogin<U>): UpstreamLogin<U | typeof SMTP_AUTH_DISABLED> {
  if (account.smtpVia !== 'auto') return open;
  return (forAccount, token) => open(forAccount, token).catch((error: unknown) => {
    if (isSmtpAuthDisabled(error)) return SMTP_AUTH_DISABLED;
    throw error;
  });
}

/** Remembers the switch and says so once, at warn level. */
export function switchToGraph(ctx: ProxyContext, account: AccountConfig, log: Logger): void {
  const key = account.username.toLowerCase();
  if (ctx.smtpAuthDisabled.has(key)) return;
  ctx.smtpAuthDisabled.add(key);
  log.warn({ event: 'smtp.via-graph', hint: `Exchange answered 535 5.7.139 (SMTP AUTH disabled); to use SMTP AUTH again: Set-CASMailbox -Identity ${account.mailbox} -SmtpClientAuthenticationDisabled $false (or enable it for the tenant), then restart` }, `SMTP AUTH is disabled for ${account.mailbox}: this account sends through Microsoft Graph from now on`);
}
