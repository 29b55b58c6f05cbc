/**
 * The bench's `workers: 2` step: one proxy instance holding more sessions than one process's
 * open-files limit allows. The open-files limit is per process, so two workers hold about
 * twice what one process does. Its own proxy process (primary + 2 workers, the built CLI),
 * against the same fast upstream; 15,000 logged-in idle IMAP sessions are asked for, by two
 * holding clients (7,500 sockets each, well inside their own limit).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hold } from './idle-sessions.js';
import { fixed } from './report.js';
import { memory, startProxyProcess, stopProxyProcess } from './processes.js';

export const WORKER_SESSIONS = 15_000;
const HOLDING_CLIENTS = 2;

export interface WorkerSessions {
  workers: number;
  asked: number;
  up: number;
  failed: number;
  /** Sessions each worker's open-files budget allows (its `open-files` log line). */
  budgets: number[];
  /** Resident memory of the primary and the workers together, in MiB, with the sessions up. */
  rssMiB: number;
  /** Growth of that sum, divided by the sessions up. */
  kibPerSession: number;
  loginSeconds: number;
}

/** A config for the instance: the bench's own, with workers: 2 and only a plain IMAP listener. */
function writeWorkersConfig(dir: string, mainConfig: string): string {
  const config = JSON.parse(readFileSync(mainConfig, 'utf8')) as Record<string, unknown>;
  const file = join(dir, 'config-workers.json');
  writeFileSync(file, JSON.stringify({ ...config, workers: 2, listeners: [{ protocol: 'imap', port: 0, tls: 'none' }] }));
  return file;
}

/** The pids of the primary and its workers, and each worker's budget, from the instance's log. */
function processesOf(logFile: string, primary: number): { pids: number[]; budgets: number[] } {
  const entries = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  const workers = entries.filter((e) => e.event === 'worker.ready').map((e) => e.workerPid as number);
  const budgets = entries.filter((e) => e.event === 'open-files').map((e) => e.sessions as number);
  return { pids: [primary, ...workers], budgets };
}

/**
 * The shared IMAP port. Each worker writes its own log lines, asynchronously: the primary's
 * "ready" may be in the file before them.
 */
async function imapPort(logFile: string): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"event":"listening"'));
    if (line) return (JSON.parse(line) as { port: number }).port;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no listening line in ${logFile}`);
}

const rssOf = (pids: number[]) => pids.reduce((sum, pid) => sum + memory(pid).rss, 0);

export async function workerSessions(dir: string, mainConfig: string, hold: Hold): Promise<WorkerSessions> {
  const logFile = join(dir, 'proxy-workers.log');
  const proxy = await startProxyProcess(writeWorkersConfig(dir, mainConfig), logFile);
  try {
    const { pids } = processesOf(logFile, proxy.child.pid!);
    const target = { port: await imapPort(logFile), tls: false, via: 'proxy' as const };
    // As in the single process's step: a first few sessions per worker load the code, the token
    // and the TLS session the others reuse, so that the growth measured is the sessions'.
    const warmUp = await hold({ kind: 'hold', target, count: 100, concurrency: 50 });
    await warmUp.release();
    const before = rssOf(pids);
    const share = WORKER_SESSIONS / HOLDING_CLIENTS;
    const holders = await Promise.all(Array.from({ length: HOLDING_CLIENTS }, () => hold({ kind: 'hold', target, count: share, concurrency: 50 })));
    // Let the logins' garbage go before reading what the sessions hold.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = rssOf(pids);
    await Promise.all(holders.map((h) => h.release()));
    const up = holders.reduce((sum, h) => sum + h.result.up, 0);
    const failed = holders.reduce((sum, h) => sum + h.result.failed, 0);
    const loginSeconds = Math.max(...holders.map((h) => h.result.seconds));
    // Read now: each worker writes its log asynchronously, and may not have by "ready".
    const { budgets } = processesOf(logFile, proxy.child.pid!);
    return { workers: 2, asked: WORKER_SESSIONS, up, failed, budgets, rssMiB: after / 2 ** 20, kibPerSession: (after - before) / 1024 / Math.max(1, up), loginSeconds };
  } finally {
    await stopProxyProcess(proxy);
  }
}

/** Its line under the bench's table. */
export function renderWorkerSessions(w: WorkerSessions): string {
  return [
    `workers: ${w.workers}: ${w.up.toLocaleString('en')} of ${w.asked.toLocaleString('en')} idle logged-in IMAP sessions up (${w.failed} failed) in one instance,`,
    `${fixed(w.kibPerSession, 1)} KiB RSS each (primary + workers: ${fixed(w.rssMiB)} MiB in all); the workers' open-files budgets allow ${w.budgets.join(' + ')} sessions;`,
    `logged in within ${fixed(w.loginSeconds, 1)} s by ${HOLDING_CLIENTS} clients, 50 at a time each.`,
  ].join(' ');
}
