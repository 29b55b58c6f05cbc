import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/ops/log.js';
import { TokenError } from '../../src/tokens/errors.js';
import { badSecretError, fakeTokenProvider, networkError } from '../helpers/fake-tokens.js';
import { logCapture } from '../helpers/net.js';

const HOUR = 3_600_000;

let logs: string[];
const log = () => createLogger({ level: 'debug', format: 'json', destination: logCapture(logs) });
const events = (name: string) => logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === name);

beforeEach(() => {
  vi.useFakeTimers();
  logs = [];
});
afterEach(() => {
  vi.useRealTimers();
  // Whatever happened, no token and no client secret reached the log.
  expect(logs.join('\n')).not.toMatch(/token-\d|abc~never\.logged/);
});

describe('token provider', () => {
  it('merges concurrent requests into one, and serves the token from its cache afterwards', async () => {
    const { provider, source } = fakeTokenProvider(log());
    const waiting = Array.from({ length: 100 }, () => provider.getToken());
    expect(source.requests).toBe(1);
    const granted = source.grant();
    const tokens = await Promise.all(waiting);
    expect(tokens.every((t) => t.token.reveal() === granted.token.reveal())).toBe(true);
    expect((await provider.getToken()).token.reveal()).toBe('token-1');
    expect(source.requests).toBe(1);
    expect(events('token.ok')).toHaveLength(1);
  });

  it('renews a token once less than tokens.minRemainingSeconds is left', async () => {
    const { provider, source } = fakeTokenProvider(log(), { minRemainingSeconds: 600 });
    const first = provider.getToken();
    source.grant(HOUR);
    await first;
    vi.advanceTimersByTime(HOUR - 600_001);
    expect((await provider.getToken()).token.reveal()).toBe('token-1');
    expect(source.requests).toBe(1);
    vi.advanceTimersByTime(1);
    const renewed = provider.getToken();
    expect(source.requests).toBe(2);
    source.grant(HOUR);
    expect((await renewed).token.reveal()).toBe('token-2');
  });

  it('renews a short-lived token once half its lifetime is gone, whatever tokens.minRemainingSeconds says', async () => {
    const { provider, source } = fakeTokenProvider(log(), { minRemainingSeconds: 600 });
    const first = provider.getToken();
    source.grant(20_000);
    await first;
    vi.advanceTimersByTime(9_999);
    await provider.getToken();
    expect(source.requests).toBe(1);
    vi.advanceTimersByTime(1);
    void provider.getToken();
    expect(source.requests).toBe(2);
  });

  it('gives up on a token service that does not answer within tokens.requestTimeoutMs, temporarily', async () => {
    const { provider, source } = fakeTokenProvider(log(), { requestTimeoutMs: 5_000 });
    let settled: unknown;
    provider.getToken().then((t) => (settled = t), (e: unknown) => (settled = e));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBeInstanceOf(TokenError);
    expect(settled).toMatchObject({ temporary: true, reason: 'token service did not answer in time' });
    expect(events('token.fail')[0]).toMatchObject({ temporary: true, usingCachedToken: false, cause: 'no token within 5000 ms' });
    // The hung request does not block the next login: it asks again.
    void provider.getToken();
    expect(source.requests).toBe(2);
  });

  it('fails a permanent refusal at once, with a reason the client can be shown', async () => {
    const { provider, source } = fakeTokenProvider(log());
    const asked = provider.getToken();
    source.fail(badSecretError());
    await expect(asked).rejects.toMatchObject({ temporary: false, reason: 'invalid client secret (AADSTS7000215)' });
  });
});

describe('last good token', () => {
  /** A provider holding a one-hour token, now due for renewal with `leftMs` of it left. */
  async function dueForRenewal(leftMs: number) {
    const setup = fakeTokenProvider(log(), { minRemainingSeconds: 600 });
    const first = setup.provider.getToken();
    setup.source.grant(HOUR);
    await first;
    vi.advanceTimersByTime(HOUR - leftMs);
    return setup;
  }

  it('is used while the token service is unreachable, and the log says what the network said', async () => {
    const { provider, source } = await dueForRenewal(300_000);
    const asked = provider.getToken();
    source.fail(networkError(), 'login.microsoftonline.com: connect ECONNREFUSED 127.0.0.1:443');
    expect((await asked).token.reveal()).toBe('token-1');
    expect(events('token.fail')[0]).toMatchObject({ usingCachedToken: true, temporary: true, cause: expect.stringContaining('connect ECONNREFUSED') });
    // The next login asks again: the cached token is a stopgap, not a renewal.
    void provider.getToken();
    expect(source.requests).toBe(3);
  });

  it('is used while the token service hangs past its deadline', async () => {
    const { provider } = await dueForRenewal(300_000);
    const asked = provider.getToken();
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await asked).token.reveal()).toBe('token-1');
  });

  it('is not used when the token service refuses for good', async () => {
    const { provider, source } = await dueForRenewal(300_000);
    const asked = provider.getToken();
    source.fail(badSecretError());
    await expect(asked).rejects.toMatchObject({ temporary: false });
    expect(events('token.fail')[0]).toMatchObject({ usingCachedToken: false });
  });

  it('is not used once it has less than a minute left', async () => {
    const { provider, source } = await dueForRenewal(59_000);
    const asked = provider.getToken();
    source.fail(networkError());
    await expect(asked).rejects.toMatchObject({ temporary: true, reason: 'token service unavailable, try again later' });
  });

  it('is not used after Exchange refused it', async () => {
    const { provider, source } = fakeTokenProvider(log());
    const first = provider.getToken();
    source.grant(HOUR);
    const refused = await first;
    const asked = provider.getToken(refused.token);
    source.fail(networkError());
    await expect(asked).rejects.toMatchObject({ temporary: true });
    expect(events('token.fail')[0]).toMatchObject({ usingCachedToken: false });
  });
});

describe('a token the upstream refused', () => {
  it('is replaced by a fresh one, even long before it expires', async () => {
    const { provider, source } = fakeTokenProvider(log());
    const first = provider.getToken();
    source.grant(HOUR);
    const refused = await first;
    const fresh = provider.getToken(refused.token);
    expect(source.requests).toBe(2);
    source.grant(HOUR);
    expect((await fresh).token.reveal()).toBe('token-2');
    expect(events('token.ok').map((e) => e.afterRejection)).toEqual([false, true]);
  });

  it('is replaced once when many sessions report it at the same time', async () => {
    const { provider, source } = fakeTokenProvider(log());
    const first = provider.getToken();
    source.grant(HOUR);
    const refused = await first;
    const fresh = Array.from({ length: 20 }, () => provider.getToken(refused.token));
    source.grant(HOUR);
    await Promise.all(fresh);
    // A session that reports the old token after the renewal gets the new one, no request.
    expect((await provider.getToken(refused.token)).token.reveal()).toBe('token-2');
    expect(source.requests).toBe(2);
  });
});
