import type { Logger } from 'pino';
import type { ProxyContext } from './context.js';
import { warnAboutMissingRole } from './login.js';
import { keepSignInsFresh } from './signin-renewal.js';
import type { AccessToken, TokenProvider } from '../tokens/provider.js';

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
  const state = { stopped: false };
  const signIns = keepSignInsFresh(ctx, log, backoff);
  const accounts = [...ctx.config.accounts.values()].filter((a) => a.auth === 'app');
  for (const [name, provider] of ctx.tokens) {
    // SMTP through Graph needs no Exchange role for SMTP.
    const protocols = new Set(accounts.filter((a) => a.app === name).flatMap((a) => a.protocols.filter((p) => p !== 'smtp' || a.smtpVia !== 'graph')));
    if (protocols.size === 0) continue;
    const appLog = log.child({ app: name });
    warm(provider, name, (token) => {
      for (const protocol of protocols) warnAboutMissingRole(token, protocol, appLog);
    }, appLog, backoff, timers, state);
  }
  // The Graph token of each app some account sends through (smtpVia graph or auto).
  for (const [name, provider] of ctx.graphTokens) {
    if (!accounts.some((a) => a.app === name && a.protocols.includes('smtp') && a.smtpVia !== 'smtp')) continue;
    const appLog = log.child({ app: name });
    warm(provider, name, (token) => warnAboutMissingGraphRole(token, appLog), appLog, backoff, timers, state);
  }
  return {
    stop() {
      state.stopped = true;
      signIns.stop();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** Asks for a token now, and again in the background (doubling the wait) until one comes. */
function warm(provider: TokenProvider, name: string, onToken: (token: AccessToken) => void, appLog: Logger, backoff: Backoff, timers: Set<NodeJS.Timeout>, state: { stopped: boolean }): void {
  const attempt = async (delayMs: number): Promise<void> => {
    try {
      const token = await provider.getToken();
      if (!state.stopped) onToken(token);
    } catch {
      if (state.stopped) return;
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

function warnAboutMissingGraphRole(token: AccessToken, log: Logger): void {
  const missing = ['Mail.Send', 'Mail.ReadWrite'].filter((role) => token.claims && !token.claims.roles.includes(role));
  if (missing.length === 0) return;
  // Mail.Send is needed for any mail; without Mail.ReadWrite only some can go (a deliberate least-privilege choice, perhaps).
  log[missing.includes('Mail.Send') ? 'warn' : 'info']({ event: 'token.role-missing', role: missing.join(' '), roles: token.claims?.roles, appid: token.claims?.appid }, `the Microsoft Graph token lacks ${missing.join(' and ')}: add ${missing.length > 1 ? 'them' : 'it'} under API permissions → Microsoft Graph → Application permissions and grant admin consent${missing.includes('Mail.Send') ? '' : ' (without Mail.ReadWrite, messages with Bcc-only recipients or over 3 MB cannot be sent)'}`);
}
