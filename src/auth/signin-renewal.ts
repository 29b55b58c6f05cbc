import type { Logger } from 'pino';
import type { ProxyContext } from './context.js';

/**
 * With tokenStore.key set, delegated sign-ins are renewed in the background: at start (so a
 * sign-in that no longer works shows in the log, /readyz and the metric at once), then shortly
 * before each access token's renewal is due. Using the refresh token this way also keeps it
 * from lapsing (AADSTS700082 after 90 days unused). A failure is retried with the backoff,
 * so a `login` run while the proxy runs is picked up. Without the key nothing can be renewed
 * before a client gives its password.
 */
export function keepSignInsFresh(ctx: ProxyContext, log: Logger, backoff: { firstMs: number; maxMs: number }): { stop(): void } {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, Math.max(ms, 0)).unref();
    timers.add(timer);
  };
  for (const signIn of ctx.signIns.values()) {
    if (!signIn.renewsInBackground) continue;
    const attempt = async (delayMs: number): Promise<void> => {
      try {
        await signIn.getToken();
        if (stopped) return;
        later((signIn.renewalDueAt() ?? Date.now() + backoff.maxMs) - Date.now(), () => void attempt(backoff.firstMs));
      } catch {
        // DelegatedSignIn has logged why; ask again later.
        if (!stopped) later(delayMs, () => void attempt(Math.min(delayMs * 2, backoff.maxMs)));
      }
    };
    void attempt(backoff.firstMs);
  }
  log.debug({ event: 'signin.background', accounts: [...ctx.signIns.values()].filter((s) => s.renewsInBackground).map((s) => s.account.username) }, 'renewing delegated sign-ins in the background');
  return {
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
