import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ProxyConfig } from '../config/types.js';
import type { Metrics } from './metrics.js';

/**
 * Descriptors a session may hold at once: the client's socket and Exchange's, and a third for a
 * moment while it logs in (the upstream connection being replaced, a token request).
 */
export const DESCRIPTORS_PER_SESSION = 3;
/**
 * Kept free beyond the descriptors in use at start: refusals in progress (each holds its
 * client's socket until the goodbye is out), the admin listener's requests, token requests,
 * reading files on a reload.
 */
export const SPARE_DESCRIPTORS = 32;

export interface OpenFilesBudget {
  /** The soft limit (Node raises it to the hard limit at start). */
  limit: number;
  /** Descriptors open when the proxy had bound its listeners. */
  inUse: number;
  /** How many connections fit; Infinity when the limit is unknown or unlimited. */
  sessions: number;
}

/** The soft "Max open files" of /proc/self/limits (Linux), or undefined when not there. */
export function parseOpenFilesLimit(limitsFile: string): number | undefined {
  const line = limitsFile.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === 'unlimited') return Infinity;
  const value = Number(soft);
  return soft && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Sessions a limit allows once the descriptors in use and a spare are set aside. */
export function sessionsAllowed(limit: number, inUse: number): number {
  if (!Number.isFinite(limit)) return Infinity;
  return Math.max(0, Math.floor((limit - inUse - SPARE_DESCRIPTORS) / DESCRIPTORS_PER_SESSION));
}

/** Reads this process's budget, where the system tells (Linux); undefined elsewhere. */
export function readOpenFilesBudget(): OpenFilesBudget | undefined {
  let limit: number | undefined;
  let inUse: number;
  try {
    limit = parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
    inUse = readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
  if (limit === undefined) return undefined;
  return { limit, inUse, sessions: sessionsAllowed(limit, inUse) };
}

/** Whether an error means the process (EMFILE) or the system (ENFILE) ran out of descriptors. */
export function isOutOfDescriptors(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/** Says at start how many sessions the open-files limit leaves room for, and warns when it binds first. */
export function announceOpenFiles(budget: OpenFilesBudget | undefined, config: ProxyConfig, log: Logger): void {
  if (!budget) {
    log.info({ event: 'open-files' }, 'open-files limit unknown on this system; clients.maxConnections alone bounds the connections');
    return;
  }
  const fields = { event: 'open-files', limit: budget.limit, inUse: budget.inUse, sessions: budget.sessions, maxConnections: config.clients.maxConnections };
  const text = Number.isFinite(budget.limit)
    ? `open-files limit ${budget.limit} (${budget.inUse} in use) allows ${budget.sessions} sessions at ${DESCRIPTORS_PER_SESSION} descriptors each, ${SPARE_DESCRIPTORS} kept spare`
    : 'open-files limit: unlimited';
  if (budget.sessions < config.clients.maxConnections) {
    log.warn({ ...fields, fix: 'raise the limit (systemd LimitNOFILE=, docker --ulimit nofile=, ulimit -n) or lower clients.maxConnections' }, `${text}: fewer than clients.maxConnections (${config.clients.maxConnections}); past them clients hear "try later"`);
  } else {
    log.info(fields, text);
  }
}

/** Accepting failed for want of descriptors (the reserve did not hold): say so, and count it. */
export function reportOutOfDescriptors(error: NodeJS.ErrnoException, protocol: string, log: Logger, metrics: Metrics): void {
  metrics.outOfDescriptors.add({ where: 'accept' });
  log.error({ event: 'listener.error', proto: protocol, code: error.code, cause: error.message }, `${protocol} listener cannot accept connections: out of file descriptors (${error.code}); raise the open-files limit or lower clients.maxConnections`);
}
