import type { RunningProxy } from '../listen/proxy.js';
import type { Logger } from '../ops/log.js';
import { COMMAND_TIMEOUT_MS } from '../upstream/smtp-client.js';

/**
 * The last resort if closing hangs. Closing is bounded by itself: sessions get a 5 s grace,
 * except an SMTP message whose final dot went to Exchange, which waits for Exchange's verdict
 * as long as any end of message may take (RFC 5321's 10 minutes); cutting it would make the
 * client send the message again.
 */
export const STOP_GUARD_MS = COMMAND_TIMEOUT_MS + 30_000;

/**
 * SIGTERM/SIGINT: stop accepting, say goodbye to sessions (IMAP BYE, SMTP transactions get
 * a bounded time to finish), then exit 0. A second signal ends it at once. Returns the same
 * stop for other callers (a worker told by its primary), for whom a repeat changes nothing.
 */
export function stopOnSignals(proxy: RunningProxy, log: Logger, extra: () => Promise<void> = async () => {}): (reason: string) => void {
  let stopping = false;
  const stop = (signal: string, again: 'exit' | 'ignore' = 'exit') => {
    if (stopping && again === 'ignore') return;
    if (stopping) process.exit(0);
    stopping = true;
    log.info({ event: 'shutdown', signal, sessions: proxy.activeSessions() }, 'shutting down');
    setTimeout(() => process.exit(0), STOP_GUARD_MS).unref();
    Promise.all([proxy.close(), extra()]).then(() => {
      log.info({ event: 'stopped' }, 'stopped');
      log.flush();
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return (reason) => stop(reason, 'ignore');
}
