import type { Target, Task } from './client.js';
import { memory, type RunningProxyProcess } from './processes.js';

export interface IdleSessions {
  /** Sessions asked for: 9,900, or what the proxy's open-files limit allows, if fewer. */
  asked: number;
  up: number;
  failed: number;
  /** The proxy's open-files limit (the bench raises it as far as the hard limit lets it), and the sessions it allows. */
  openFiles: { limit: number; sessions: number };
  /** Growth of the proxy's resident memory, divided by the sessions up. */
  kibPerSession: number;
  /** How long the logins took, 100 at a time. */
  loginSeconds: number;
}

/** Starts a client that keeps `task.count` sessions logged in until released (the `hold` task). */
export type Hold = (task: Task) => Promise<{ result: { up: number; failed: number; seconds: number }; release: () => Promise<void> }>;

/**
 * Holds `count` logged-in, idle IMAP sessions through the proxy (a fresh one, after 100
 * sessions came and went) and measures what they cost its resident memory. `hold` starts a
 * client that keeps them (the `hold` task). Measured once, not per round: RSS hardly shrinks
 * when sessions close, so a second hold would reuse the first's memory and measure little.
 */
export async function idleSessions(proxy: RunningProxyProcess, hold: Hold, target: Target, count: number): Promise<IdleSessions> {
  const pid = proxy.child.pid!;
  // Past its open-files budget the proxy answers "try later" (README, "Open-files limit").
  const budget = proxy.openFiles.sessions;
  const asked = Number.isFinite(budget) ? Math.min(count, budget - 10) : count;
  // A first few sessions load the code, the token and the TLS session the others reuse.
  const warmUp = await hold({ kind: 'hold', target, count: 100, concurrency: 100 });
  await warmUp.release();
  const before = memory(pid).rss;
  const { result, release } = await hold({ kind: 'hold', target, count: asked, concurrency: 100 });
  // Let the logins' garbage go before reading what the sessions hold.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = memory(pid).rss;
  await release();
  return { asked, up: result.up, failed: result.failed, openFiles: proxy.openFiles, kibPerSession: (after - before) / 1024 / Math.max(1, result.up), loginSeconds: result.seconds };
}
