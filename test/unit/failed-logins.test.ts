import { describe, expect, it } from 'vitest';
import { FailedLoginLimiter } from '../../src/failed-logins.js';

describe('failed-login lockout', () => {
  it('locks a username from an address at the limit, case-insensitively, until its window ends', () => {
    const limiter = new FailedLoginLimiter(2, 1000);
    limiter.failed('127.0.0.1', 'Talend', 0);
    expect(limiter.lockedUntil('127.0.0.1', 'talend', 10)).toBeUndefined();
    limiter.failed('127.0.0.1', 'talend', 500);
    expect(limiter.lockedUntil('127.0.0.1', 'TALEND', 600)).toBe(1000);
    expect(limiter.lockedUntil('127.0.0.2', 'talend', 600)).toBeUndefined();
    expect(limiter.lockedUntil('127.0.0.1', 'scanner', 600)).toBeUndefined();
    expect(limiter.lockedUntil('127.0.0.1', 'talend', 1000)).toBeUndefined();
  });

  it('forgets failures after a success, and does nothing when turned off', () => {
    const limiter = new FailedLoginLimiter(1, 1000);
    limiter.failed('::1', 'talend', 0);
    limiter.succeeded('::1', 'talend');
    expect(limiter.lockedUntil('::1', 'talend', 1)).toBeUndefined();
    const off = new FailedLoginLimiter(0, 1000);
    for (let i = 0; i < 100; i++) off.failed('::1', 'talend', i);
    expect(off.lockedUntil('::1', 'talend', 100)).toBeUndefined();
  });
});
