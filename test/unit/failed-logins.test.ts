import { describe, expect, it } from 'vitest';
import { FailedLoginLimiter } from '../../src/auth/lockout.js';

/** One failed attempt with credentials `fingerprint`, started and settled at `now`. */
function fail(limiter: FailedLoginLimiter, address: string, user: string, now: number, fingerprint = `guess-${now}`): void {
  const admission = limiter.begin(address, user, fingerprint, now);
  if (admission.locked) throw new Error('locked');
  admission.ticket.failed(now);
}

const isLocked = (limiter: FailedLoginLimiter, address: string, user: string, now: number) => limiter.begin(address, user, `probe-${now}`, now).locked;

describe('failed-login lockout', () => {
  it('locks a username from an address at the limit, case-insensitively, until its window ends', () => {
    const limiter = new FailedLoginLimiter(2, 1000);
    fail(limiter, '127.0.0.1', 'Talend', 0);
    const admission = limiter.begin('127.0.0.1', 'talend', 'x', 10);
    expect(admission.locked).toBe(false);
    if (!admission.locked) admission.ticket.failed(500);
    expect(limiter.begin('127.0.0.1', 'TALEND', 'y', 600)).toEqual({ locked: true, until: 1000, failures: 2 });
    expect(isLocked(limiter, '127.0.0.2', 'talend', 600)).toBe(false);
    expect(isLocked(limiter, '127.0.0.1', 'scanner', 600)).toBe(false);
    expect(isLocked(limiter, '127.0.0.1', 'talend', 1000)).toBe(false);
  });

  it('forgets failures after a success, and does nothing when turned off', () => {
    const limiter = new FailedLoginLimiter(2, 1000);
    fail(limiter, '::1', 'talend', 0);
    const right = limiter.begin('::1', 'talend', 'right', 1);
    if (!right.locked) right.ticket.succeeded();
    fail(limiter, '::1', 'talend', 2);
    expect(isLocked(limiter, '::1', 'talend', 3)).toBe(false);
    const off = new FailedLoginLimiter(0, 1000);
    for (let i = 0; i < 100; i++) fail(off, '::1', 'talend', i);
    expect(isLocked(off, '::1', 'talend', 100)).toBe(false);
  });

  it('counts parallel guesses when they start: only maxFailures of them are checked', () => {
    const limiter = new FailedLoginLimiter(10, 60_000);
    const admissions = Array.from({ length: 300 }, (_, i) => limiter.begin('10.0.0.9', 'talend', `guess-${i}`, 0));
    expect(admissions.filter((a) => !a.locked)).toHaveLength(10);
    // The right password, sent last, is refused like the others: the pair is at its limit.
    expect(limiter.begin('10.0.0.9', 'talend', 'right', 0).locked).toBe(true);
  });

  it('counts the same credentials checked in parallel once (one job logging in many times)', () => {
    const limiter = new FailedLoginLimiter(2, 60_000);
    const burst = Array.from({ length: 1000 }, () => limiter.begin('127.0.0.1', 'talend', 'right', 0));
    expect(burst.every((a) => !a.locked)).toBe(true);
    for (const admission of burst) if (!admission.locked) admission.ticket.succeeded();
    expect(limiter.size).toBe(0);
  });

  it('keeps a lockout however many cheap new pairs come after it', () => {
    const limiter = new FailedLoginLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) fail(limiter, '10.0.0.9', 'talend', i);
    for (let i = 0; i < 50_000; i++) fail(limiter, '10.0.0.66', `name-${i}`, 10);
    expect(isLocked(limiter, '10.0.0.9', 'talend', 20)).toBe(true);
    expect(limiter.size).toBeLessThanOrEqual(10_001);
  });

  it('a ticket settles once: a second verdict changes nothing', () => {
    const limiter = new FailedLoginLimiter(2, 1000);
    const admission = limiter.begin('::1', 'talend', 'x', 0);
    if (admission.locked) throw new Error('locked');
    expect(admission.ticket.failed(0)).toBe(1);
    expect(admission.ticket.failed(0)).toBe(1);
    admission.ticket.succeeded();
    expect(limiter.begin('::1', 'talend', 'y', 0).locked).toBe(false);
  });
});
