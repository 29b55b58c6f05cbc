import type { Logger } from 'pino';
import type { ProxyContext } from './context.js';
import { warnAboutMissingRole } from './login.js';
import { keepSignInsFresh } from './signin-renewal.js';

export interface Backoff {
  firstMs: number;
  maxMs: number;
}

/** Bounded both ways: a token is back soon after Entra is, and a tenant that stays wrong costs a request per 5 minutes. */
export const TOKEN_RETRY: Backoff = { firstMs: 5_000, maxMs: 300_000 };

export interface TokenWarmup {
  /** Stops the retries (a reload starts new ones for the new apps; shutdown stops them for good). */
  stop(): void;
}

/**
 * Asks for each app's token right after start or reload, so a wrong secret or a missing role
 * shows in the log at once rather than at the first job's login, and the token is cached for the
 * first sessions. While a token cannot be had, asks again in the background (5 s, doubling up
 * to 5 min) until it can: otherwise nothing would ask until a client or /readyz did, and the
 * log would keep saying "no token" after Entra came back. The token provider logs token.ok and
 * token.fail itself, a repeated cause at debug only.
 */
export function keepTokensWarm(ctx: ProxyContext, log: Logger, backoff: Backoff = TOKEN_RETRY): TokenWarmup {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const signIns = keepSignInsFresh(ctx, log, backoff);
  for (const [name, provider] of ctx.tokens) {
    const protocols = new Set([...ctx.config.accounts.values()].filter((a) => a.app === name && a.auth === 'app').flatMap((a) => a.protocols));
    if (protocols.size === 0) continue;
    const appLog = log.child({ app: name });
    const attempt = async (delayMs: number): Promise<void> => {
      try {
        const token = await provider.getToken();
        if (!stopped) for (const protocol of protocols) warnAboutMissingRole(token, protocol, appLog);
      } catch {
        if (stopped) return;
        if (delayMs === backoff.firstMs) {
          appLog.info({ event: 'token.retry', firstMs: backoff.firstMs, maxMs: backoff.maxMs }, `no token for ${name} yet; asking again in the background until one comes`);
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          void attempt(Math.min(delayMs * 2, backoff.maxMs));
        }, delayMs).unref();
        timers.add(timer);
      }
    };
    void attempt(backoff.firstMs);
  }
  return {
    stop() {
      stopped = true;
      signIns.stop();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
