import { afterEach, describe, expect, it, vi } from 'vitest';
import { Admission, type Ticket } from '../../src/listen/admission.js';
import { parseOpenFilesLimit, reserveAllowed, sessionsAllowed } from '../../src/ops/open-files.js';
import { createLogger } from '../../src/ops/log.js';
import { Metrics } from '../../src/ops/metrics.js';
import { RefusalLog } from '../../src/listen/refusal-log.js';
import { logCapture } from '../helpers/net.js';

const ticket = (admission: Admission, address: string): Ticket => {
  const t = admission.admit();
  if (typeof t === 'string') throw new Error(t);
  expect(t.bind(address)).toBeUndefined();
  return t;
};

describe('admission', () => {
  it('counts every connection until it is released, once, and per address', () => {
    const admission = new Admission({ maxConnections: 3, maxConnectionsPerAddress: 2, openFiles: Infinity });
    const a = ticket(admission, '10.0.0.1');
    ticket(admission, '10.0.0.1');
    const third = admission.admit() as Ticket;
    expect(third.bind('10.0.0.1')).toBe('max-connections-per-address');
    third.release();
    const b = ticket(admission, '10.0.0.2');
    expect(admission.admit()).toBe('max-connections');
    a.release();
    a.release();
    expect(admission.open).toBe(2);
    expect(admission.connectionsFrom('10.0.0.1')).toBe(1);
    b.release();
    expect(admission.connectionsFrom('10.0.0.2')).toBe(0);
    ticket(admission, '10.0.0.1');
    expect(admission.open).toBe(2);
  });

  it('names the open-files limit when it is the tighter one, and has no per-address limit at 0', () => {
    const admission = new Admission({ maxConnections: 10, maxConnectionsPerAddress: 0, openFiles: 2 });
    ticket(admission, '::1');
    ticket(admission, '::1');
    expect(admission.admit()).toBe('open-files');
    admission.limits = { maxConnections: 2, maxConnectionsPerAddress: 0, openFiles: 2 };
    expect(admission.admit()).toBe('open-files');
    admission.limits = { maxConnections: 2, maxConnectionsPerAddress: 0, openFiles: 5 };
    expect(admission.admit()).toBe('max-connections');
  });
});

describe('open-files limit', () => {
  it('reads the soft limit from /proc/self/limits and leaves room for what is open and a spare', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax processes             96365                96365                processes \nMax open files            1024                 524288               files     \n';
    expect(parseOpenFilesLimit(limits)).toBe(1024);
    expect(parseOpenFilesLimit(limits.replace('1024 ', 'unlimited'))).toBe(Infinity);
    expect(parseOpenFilesLimit('Max processes 5 5 processes\n')).toBeUndefined();
    // Two descriptors per session, an eighth of the rest (at most 64) kept for logins in progress.
    expect(reserveAllowed(1024, 40)).toBe(64);
    expect(sessionsAllowed(1024, 40)).toBe(444); // (1024 - 40 - 32 - 64) / 2
    expect(reserveAllowed(128, 24)).toBe(9); // (128 - 24 - 32) / 8
    expect(sessionsAllowed(128, 24)).toBe(31); // (128 - 24 - 32 - 9) / 2
    expect(sessionsAllowed(20_000, 40)).toBe(9932); // the bench's 9,900 idle sessions fit under a hard limit of 20,000
    expect(sessionsAllowed(50, 40)).toBe(0);
    expect(reserveAllowed(50, 40)).toBe(1);
    expect(sessionsAllowed(Infinity, 40)).toBe(Infinity);
  });
});

describe('refusal log', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs the first refusal at once and sums the rest into one line per interval, counting each', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const metrics = new Metrics();
    const log = new RefusalLog(createLogger({ level: 'info', format: 'json', destination: logCapture(lines) }), metrics, 200);
    const refuse = (client: string, greeted = true) => log.refused({ reason: 'max-connections', protocol: 'imap', client, greeted, detail: 'clients.maxConnections (1) reached' });
    refuse('10.0.0.1:1');
    refuse('10.0.0.2:2');
    refuse('10.0.0.3:3', false);
    log.refused({ reason: 'open-files', protocol: 'smtp', client: '10.0.0.4:4', greeted: true, detail: 'x' });
    const entries = () => lines.map((line) => JSON.parse(line));
    expect(entries().map((e) => [e.reason, e.refused])).toEqual([['max-connections', 1], ['open-files', 1]]);
    vi.advanceTimersByTime(199);
    expect(entries()).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(entries()[2]).toMatchObject({ level: 40, event: 'connections.refused', reason: 'max-connections', refused: 2, withoutGreeting: 1, client: '10.0.0.3:3', msg: 'refused 2 connections (max-connections): clients.maxConnections (1) reached; the last from 10.0.0.3:3' });
    expect(await metrics.render()).toContain('o365p_connections_refused_total{protocol="imap",reason="max-connections"} 3');
    log.flush();
    expect(lines).toHaveLength(3);
  });
});
