import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ProxyConfig } from '../config/types.js';
import type { Metrics } from './metrics.js';

/**
 * Descriptors a session holds: the client's socket and Exchange's. What some sessions need
 * beyond that for a while (a login in progress, an upstream connection outliving its client)
 * comes from a reserve of its own (ops/descriptor-reserve.ts), so that a logged-in session,
 * which is most of them, counts two and not three.
 */
export const DESCRIPTORS_PER_SESSION = 2;
/**
 * The reserve for logins in progress: an eighth of what is free, at least 1, at most 64 (64
 * upstream handshakes at once keep the CPU busy in a burst; more would only queue in the
 * kernel). Logins past it wait for their turn, they are not refused.
 */
const MAX_RESERVE = 64;
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
  /** Descriptors kept for logins in progress (DescriptorReserve's size); Infinity when unlimited. */
  reserve: number;
}

/** The soft "Max open files" of /proc/self/limits (Linux), or undefined when not there. */
export function parseOpenFilesLimit(limitsFile: string): number | undefined {
  const line = limitsFile.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === 'unlimited') return Infinity;
  const value = Number(soft);
  return soft && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** The login reserve a limit allows once the descriptors in use and a spare are set aside. */
export function reserveAllowed(limit: number, inUse: number): number {
  if (!Number.isFinite(limit)) return Infinity;
  return Math.min(MAX_RESERVE, Math.max(1, Math.floor((limit - inUse - SPARE_DESCRIPTORS) / 8)));
}

/** Sessions a limit allows once the descriptors in use, a spare and the login reserve are set aside. */
export function sessionsAllowed(limit: number, inUse: number): number {
  if (!Number.isFinite(limit)) return Infinity;
  return Math.max(0, Math.floor((limit - inUse - SPARE_DESCRIPTORS - reserveAllowed(limit, inUse)) / DESCRIPTORS_PER_SESSION));
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
  return { limit, inUse, sessions: sessionsAllowed(limit, inUse), reserve: reserveAllowed(limit, inUse) };
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
  const fields = { event: 'open-files', limit: budget.limit, inUse: budget.inUse, sessions: budget.sessions, loginReserve: budget.reserve, maxConnections: config.clients.maxConnections };
  const text = Number.isFinite(budget.limit)
    ? `open-files limit ${budget.limit} (${budget.inUse} in use) allows ${budget.sessions} sessions at ${DESCRIPTORS_PER_SESSION} descriptors each, ${budget.reserve} more for logins in progress, ${SPARE_DESCRIPTORS} kept spare`
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
