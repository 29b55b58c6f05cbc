import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { InstanceLimits } from '../../src/listen/cluster/instance-limits.js';
import { Metrics } from '../../src/ops/metrics.js';
import { minimalConfig, tempDir } from '../helpers/config.js';

/** The primary's counts, asked the way workers ask them (the handlers behind the IPC channel). */
function instance(overrides: Record<string, unknown>) {
  return new InstanceLimits(validateConfig(minimalConfig(overrides), tempDir()), new Metrics());
}

describe('the counts a primary keeps for its workers', () => {
  it('gives back the connection places of a worker that died', async () => {
    const limits = instance({ clients: { maxConnections: 2 } });
    const one = limits.handlersFor('1');
    const two = limits.handlersFor('2');
    const address = '10.0.0.9';
    expect(await one['conn.admit']!({ ticket: 1, address })).toBeNull();
    expect(await one['conn.admit']!({ ticket: 2, address })).toBeNull();
    expect(await two['conn.admit']!({ ticket: 1, address })).toBe('max-connections');
    limits.workerGone('1');
    expect(limits.openConnections).toBe(0);
    expect(await two['conn.admit']!({ ticket: 1, address })).toBeNull();
  });

  it('holds clients.maxConnectionsPerAddress across workers, and gives the place back on release', async () => {
    const limits = instance({ clients: { maxConnectionsPerAddress: 1 } });
    const one = limits.handlersFor('1');
    const two = limits.handlersFor('2');
    expect(await one['conn.admit']!({ ticket: 1, address: '10.0.0.9' })).toBeNull();
    expect(await two['conn.admit']!({ ticket: 1, address: '10.0.0.9' })).toBe('max-connections-per-address');
    expect(await two['conn.admit']!({ ticket: 2, address: '10.0.0.8' })).toBeNull();
    expect(limits.openConnections).toBe(2);
    one['conn.release']!({ ticket: 1 });
    expect(await two['conn.admit']!({ ticket: 3, address: '10.0.0.9' })).toBeNull();
  });

  it('counts failed logins of a pair across workers, and forgets a dead worker\'s check in progress', async () => {
    const limits = instance({ clients: { maxFailedLogins: 2 } });
    const one = limits.handlersFor('1');
    const two = limits.handlersFor('2');
    const attempt = (worker: typeof one, ticket: number) => worker['login.begin']!({ ticket, address: '10.0.0.9', username: 'talend', fingerprint: `guess-${ticket}` });
    expect(await attempt(one, 1)).toEqual({ locked: false });
    // Worker 1 dies during the check: that attempt ends without a verdict, it does not hold the pair.
    limits.workerGone('1');
    expect(await attempt(two, 2)).toEqual({ locked: false });
    expect(await two['login.failed']!({ ticket: 2 })).toBe(1);
    expect(await attempt(two, 3)).toEqual({ locked: false });
    expect(await two['login.failed']!({ ticket: 3 })).toBe(2);
    expect(await attempt(two, 4)).toMatchObject({ locked: true, failures: 2 });
  });

  it('gives a dead worker\'s upstream places to the logins waiting for them', async () => {
    const limits = instance({ upstream: { maxSessionsPerMailbox: { imap: 1 }, sessionWaitMs: 60_000 } });
    const one = limits.handlersFor('1');
    const two = limits.handlersFor('2');
    expect(await one['gate.acquire']!({ ticket: 1, mailbox: 'invoices@contoso.com', protocol: 'imap' })).toEqual({ ok: true });
    const waiting = two['gate.acquire']!({ ticket: 1, mailbox: 'invoices@contoso.com', protocol: 'imap' });
    limits.workerGone('1');
    expect(await waiting).toEqual({ ok: true });
  });

  it('lets a waiting login go when its worker says the client left', async () => {
    const limits = instance({ upstream: { maxSessionsPerMailbox: { imap: 1 }, sessionWaitMs: 60_000 } });
    const one = limits.handlersFor('1');
    await one['gate.acquire']!({ ticket: 1, mailbox: 'invoices@contoso.com', protocol: 'imap' });
    const waiting = one['gate.acquire']!({ ticket: 2, mailbox: 'invoices@contoso.com', protocol: 'imap' });
    one['gate.cancel']!({ ticket: 2 });
    expect(await waiting).toMatchObject({ ok: false, reason: 'cancelled' });
  });
});
