import type { Logger } from 'pino';
import type { Protocol, ProxyConfig } from '../config/types.js';
import type { Metrics } from '../ops/metrics.js';
import { UpstreamError } from '../outbound/errors.js';
import { GateRefusal, type SessionGate, type Slot } from './mailbox-gate.js';
import { parseThrottling } from './throttling.js';

// Where the login path meets Exchange's per-mailbox limits: the gate's answer as an
// UpstreamError, and throttling answers turned into a backoff, a metric and a log line.

/** What of the running proxy these need (the login context has it all). */
export interface LimitsContext {
  mailboxGate: SessionGate;
  metrics: Metrics;
  config: Pick<ProxyConfig, 'upstream'>;
}

/** A place for one more upstream session of this mailbox, or an UpstreamError (busy, throttled, cancelled). */
export async function enterGate(ctx: LimitsContext, mailbox: string, protocol: Protocol, signal: AbortSignal | undefined): Promise<Slot> {
  try {
    return await ctx.mailboxGate.acquire(mailbox, protocol, signal);
  } catch (error) {
    if (error instanceof GateRefusal) throw new UpstreamError(error.reason, error.message);
    throw error;
  }
}

/**
 * Looks at what Exchange answered; when it is throttling, holds new logins for the mailbox
 * (the gate), counts it and logs one warning. Returns the backoff in ms, or undefined.
 * `log` names the mailbox already (a child logger bound to it).
 */
export function noticeThrottling(ctx: LimitsContext, mailbox: string, protocol: Protocol, reply: string | undefined, log: Logger): number | undefined {
  const throttling = reply === undefined ? undefined : parseThrottling(protocol, reply);
  if (!throttling) return undefined;
  const backoffMs = throttling.suggestedMs ?? ctx.config.upstream.throttleBackoffMs;
  ctx.mailboxGate.throttle(mailbox, protocol, backoffMs);
  ctx.metrics.upstreamThrottled.add({ protocol });
  log.warn({ event: 'upstream.throttled', protocol, backoffMs, serverReply: reply, suggested: throttling.suggestedMs !== undefined }, `Exchange is throttling ${mailbox} over ${protocol}: no new ${protocol} session for it during the next ${backoffMs} ms`);
  return backoffMs;
}

/** A failed upstream login that was Exchange throttling becomes a `throttled` error (never retried). */
export function recognizeThrottling(ctx: LimitsContext, mailbox: string, protocol: Protocol, error: unknown, log: Logger): unknown {
  if (!(error instanceof UpstreamError)) return error;
  const backoffMs = noticeThrottling(ctx, mailbox, protocol, error.serverReply, log);
  if (backoffMs === undefined) return error;
  return new UpstreamError('throttled', `${error.message}: throttled, backing off ${backoffMs} ms`, error.serverReply);
}
