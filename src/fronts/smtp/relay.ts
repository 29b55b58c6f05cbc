import type { SMTPServerAddress } from 'smtp-server';
import type { ProxyContext } from '../../auth/context.js';
import { checkCredentials, connectUpstream, login, upstreamLogin, type LoginAttempt, type UpstreamLogin } from '../../auth/login.js';
import { fallingBackToGraph, graphLogIn, sendsThroughGraph, SMTP_AUTH_DISABLED, switchToGraph } from './graph-login.js';
import type { BasicCredentials } from '../../auth/sasl/index.js';
import { UpstreamError } from '../../outbound/errors.js';
import { noticeThrottling } from '../../upstream/mailbox-limits.js';
import { SmtpUpstream } from '../../upstream/smtp-client.js';
import { formatReply, type SmtpReply } from '../../wire/smtp-reply.js';
import { replyTo } from '../replies.js';
import { SmtpAnswers, SMTP_REPLIES, type SmtpAnswer } from './replies.js';
import type { RelaySession } from './session-state.js';


/**
 * AUTH: one login (auth/login.ts) with the SMTP upstream login. `ok`: smtp-server answers 235;
 * `client-left`: nobody to answer; else the reply from replies.ts.
 */
export async function logIn(relay: RelaySession, credentials: BasicCredentials): Promise<SmtpAnswer | 'ok' | 'client-left'> {
  const attempt: LoginAttempt = { credentials, protocol: 'smtp', clientAddress: relay.clientAddress, previousFailures: relay.failedLogins, signal: relay.left.signal };
  const local = await checkCredentials(relay.ctx, attempt, relay.log);
  if (!local.ok) {
    if (local.kind === 'denied' && ++relay.failedLogins >= relay.ctx.config.clients.maxLoginAttemptsPerConnection) {
      return replyTo(SMTP_REPLIES, { kind: 'too-many-failures' })!;
    }
    return replyTo(SMTP_REPLIES, local)!;
  }
  const { account } = local;
  if (sendsThroughGraph(relay.ctx, account)) return graphLogIn(relay, account, local.log);
  const open = fallingBackToGraph(account, watchingThrottling(relay.ctx, relay, upstreamLogin(relay.ctx, SmtpUpstream.open)));
  const outcome = await connectUpstream(relay.ctx, account, attempt, local.log, open);
  if (!outcome.ok) return replyTo(SMTP_REPLIES, outcome)!;
  if (outcome.upstream === SMTP_AUTH_DISABLED) {
    switchToGraph(relay.ctx, account, local.log);
    return graphLogIn(relay, account, local.log, true);
  }
  const upstream = outcome.upstream as SmtpUpstream;
  if (relay.left.signal.aborted) {
    // The client left (or was told goodbye) during the login: nobody will use this one.
    void upstream.quit();
    return 'client-left';
  }
  relay.account = outcome.account;
  relay.upstream = upstream;
  // Later reconnects (the upstream may drop an idle session) take the same path.
  relay.reopen = async () => {
    const again = await login(relay.ctx, attempt, relay.log, open);
    if (!again.ok || again.upstream === SMTP_AUTH_DISABLED) throw new UpstreamError('unreachable', 'could not log in upstream again');
    return again.upstream as SmtpUpstream;
  };
  return 'ok';
}

/** Exchange throttles submissions with 4xx replies to MAIL, RCPT or DATA too: each reply after the login is looked at. */
function watchingThrottling(ctx: ProxyContext, relay: RelaySession, open: UpstreamLogin<SmtpUpstream>): UpstreamLogin<SmtpUpstream> {
  return async (account, token) => {
    const upstream = await open(account, token);
    const log = relay.log.child({ mailbox: account.mailbox });
    upstream.onReply = (answer) => void noticeThrottling(ctx, account.mailbox, 'smtp', formatReply(answer), log);
    return upstream;
  };
}

/**
 * Runs one relay step against the upstream session and turns its reply into smtp-server's
 * callback shape: undefined for 2xx/3xx (smtp-server sends its 250), Exchange's code and
 * text otherwise. `mayReconnect`: at the start of a transaction a lost upstream session is
 * replaced transparently; in the middle of one it cannot be.
 */
export async function relayStep(relay: RelaySession, step: (upstream: SmtpUpstream) => Promise<SmtpReply>, mayReconnect: boolean): Promise<SmtpAnswer | undefined> {
  try {
    if (!relay.upstream || relay.upstream.closed) {
      if (!mayReconnect || !relay.reopen) {
        relay.transactionOpen = false;
        return SmtpAnswers.upstreamLost;
      }
      relay.log.info({ event: 'upstream.reconnect' }, 'upstream SMTP session was closed; opening a new one');
      relay.transactionOpen = false;
      // Closed for good, so that its place among the mailbox's sessions is free for the new one.
      relay.upstream?.close();
      relay.upstream = await relay.reopen();
      if (relay.left.signal.aborted) {
        // The client left during the reconnect; onClose could not quit this one.
        void relay.upstream.quit();
        return SmtpAnswers.upstreamLost;
      }
    }
    const answer = await step(relay.upstream);
    relay.lastReplyText = answer.lines.join(' ').trim();
    return answer.code < 400 ? undefined : SmtpAnswers.relayed(answer);
  } catch (error) {
    relay.transactionOpen = false;
    relay.log.warn({ event: 'upstream.error', cause: (error as Error).message }, 'upstream SMTP step failed');
    relay.upstream?.close();
    return SmtpAnswers.upstreamLost;
  }
}

/** MAIL/RCPT parameters as the client gave them (BODY=8BITMIME, SIZE=..., SMTPUTF8, DSN). */
export function params(address: SMTPServerAddress): string {
  if (!address.args) return '';
  return Object.entries(address.args).map(([key, value]) => (value === true ? ` ${key}` : ` ${key}=${value}`)).join('');
}

export type { RelaySession } from './session-state.js';
