import { EventEmitter } from 'node:events';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProxyContext, type ProxyContext } from '../../src/auth/context.js';
import { login, type LoginAttempt, type LoginOutcome, type Upstream } from '../../src/auth/login.js';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { validateConfig } from '../../src/config/validate.js';
import type { AccountConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/ops/log.js';
import { Metrics } from '../../src/ops/metrics.js';
import { UpstreamError } from '../../src/outbound/errors.js';
import type { AccessToken } from '../../src/tokens/provider.js';
import { FAST_HASH_PARAMS, minimalConfig, tempDir } from '../helpers/config.js';
import { badSecretError, type FakeTokenSource, fakeTokenProvider, networkError } from '../helpers/fake-tokens.js';
import { logCapture } from '../helpers/net.js';

/**
 * The login pipeline (local check, lockout, failure delay, token, upstream login with one
 * retry) with real accounts and lockout, a token service answered by the test and a fake
 * upstream login, on fake timers: no sockets, no waiting.
 */

const USER = 'talend';
const PASSWORD = 'p ä"ss\\wörd ';
const MAILBOX = 'invoices@contoso.com';

let passwordHash: string;
beforeAll(async () => {
  passwordHash = await hashPassword(new Secret(PASSWORD), FAST_HASH_PARAMS);
});

let logs: string[];
const entries = () => logs.map((line) => JSON.parse(line) as Record<string, any>);
const events = (name: string) => entries().filter((entry) => entry.event === name);

beforeEach(() => {
  logs = [];
  // Real setImmediate and I/O: scrypt runs on libuv's threads while the clock stands still.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  // No password, token or client secret in any log line, whatever the outcome.
  const all = logs.join('\n');
  for (const secret of [PASSWORD, JSON.stringify(PASSWORD).slice(1, -1), 'wrong guess', 'token-1', 'token-2', 'abc~secret.value', 'abc~never.logged']) expect(all).not.toContain(secret);
});

interface Setup {
  ctx: ProxyContext;
  tokens: FakeTokenSource;
  /** Upstream logins tried, with the token each was given. */
  opened: string[];
  /** What the next upstream logins do: throw this, or succeed when the list runs out. */
  upstreamFails: unknown[];
}

function setup(clients: Record<string, unknown> = {}): Setup {
  const raw = minimalConfig({
    accounts: { [USER]: { passwordHash, mailbox: MAILBOX, app: 'contoso' } },
    clients: { failedLoginDelayMs: 0, ...clients },
  });
  const log = createLogger({ level: 'debug', format: 'json', destination: logCapture(logs) });
  const base = createProxyContext(validateConfig(raw, tempDir()), log, new Metrics());
  const { provider, source } = fakeTokenProvider(log);
  source.answerAll();
  return { ctx: { ...base, tokens: new Map([['contoso', provider]]) }, tokens: source, opened: [], upstreamFails: [] };
}

function fakeUpstream(s: Setup) {
  return async (_account: AccountConfig, token: AccessToken): Promise<Upstream> => {
    s.opened.push(token.token.reveal());
    const failure = s.upstreamFails.shift();
    if (failure) throw failure;
    return { socket: Object.assign(new EventEmitter(), { closed: false }) };
  };
}

/** Starts a login; its outcome may wait for real I/O (the password check) and for fake time. */
function start(s: Setup, password = PASSWORD, more: Partial<LoginAttempt> = {}): Promise<LoginOutcome<Upstream>> {
  const log = s.ctx.log.child({ sid: 'test' });
  return login(s.ctx, { credentials: { username: USER, password: new Secret(password) }, protocol: 'imap', clientAddress: '127.0.0.1', ...more }, log, fakeUpstream(s));
}

/** A login's outcome, letting the fake clock run (vi.waitFor moves it as it polls). */
async function attempt(s: Setup, password = PASSWORD, more: Partial<LoginAttempt> = {}): Promise<LoginOutcome<Upstream>> {
  let outcome: LoginOutcome<Upstream> | undefined;
  void start(s, password, more).then((o) => (outcome = o));
  return vi.waitFor(() => {
    if (!outcome) throw new Error('login still running');
    return outcome;
  }, { interval: 5, timeout: 5_000 });
}

const refused = (reply = 'a NO AUTHENTICATE failed.') => new UpstreamError('rejected', 'XOAUTH2 login refused', reply);

describe('login: upstream and token failures', () => {
  it('logs in upstream with the access token', async () => {
    const s = setup();
    expect(await attempt(s)).toMatchObject({ ok: true, account: { username: USER, mailbox: MAILBOX } });
    expect(s.opened).toEqual(['token-1']);
    expect(events('auth.ok')).toHaveLength(1);
  });

  it('retries once with a fresh token when the upstream refuses the token', async () => {
    const s = setup();
    s.upstreamFails.push(refused());
    expect(await attempt(s)).toMatchObject({ ok: true });
    expect(s.opened).toEqual(['token-1', 'token-2']);
    expect(events('upstream.token-rejected')).toHaveLength(1);
  });

  it('gives up after the second refusal: permanent, naming the mailbox', async () => {
    const s = setup();
    s.upstreamFails.push(refused(), refused());
    expect(await attempt(s)).toEqual({ ok: false, kind: 'permanent', reason: `Exchange Online refused the token for ${MAILBOX}` });
    expect(s.opened).toEqual(['token-1', 'token-2']);
    expect(events('auth.fail')[0]!.hint).toMatch(/IMAP\.AccessAsApp .*FullAccess on invoices@contoso\.com/);
  });

  it.each([
    ['unreachable', 'temporary', 'mail server unavailable, try again later'],
    ['timeout', 'temporary', 'mail server unavailable, try again later'],
    ['not-connected', 'permanent', `no access to mailbox ${MAILBOX}`],
  ] as const)('does not retry other upstream failures (%s): %s', async (kind, outcome, reason) => {
    const s = setup();
    s.upstreamFails.push(new UpstreamError(kind, 'it failed'));
    expect(await attempt(s)).toEqual({ ok: false, kind: outcome, reason });
    expect(s.opened).toEqual(['token-1']);
    expect(s.tokens.requests).toBe(1);
  });

  it('does not retry when the upstream is throttling, and asks the client to come back later', async () => {
    const s = setup();
    s.upstreamFails.push(refused('a NO Request is throttled. Suggested Backoff Time: 5000 milliseconds'));
    expect(await attempt(s)).toEqual({ ok: false, kind: 'temporary', reason: `Exchange Online is throttling ${MAILBOX}, try again later` });
    expect(s.opened).toEqual(['token-1']);
    expect(events('upstream.throttled')[0]).toMatchObject({ backoffMs: 5000 });
  });

  it('a token refused for good is permanent, with the reason the token service gave', async () => {
    const s = setup();
    s.tokens.answerAll(badSecretError);
    expect(await attempt(s)).toEqual({ ok: false, kind: 'permanent', reason: 'invalid client secret (AADSTS7000215)' });
    expect(s.opened).toEqual([]);
  });

  it('a token service out of reach is temporary', async () => {
    const s = setup();
    s.tokens.answerAll(networkError);
    expect(await attempt(s)).toEqual({ ok: false, kind: 'temporary', reason: 'token service unavailable, try again later' });
  });

  it('anything unexpected is temporary, and logged as an error', async () => {
    const s = setup();
    s.upstreamFails.push(new TypeError('bug'));
    expect(await attempt(s)).toEqual({ ok: false, kind: 'temporary', reason: 'internal error, try again later' });
    expect(events('auth.fail')[0]!.level).toBe(50);
  });
});

/** The clock time of the last `auth.fail` line: the failure delay starts there. */
async function failureLogged(count: number): Promise<number> {
  // The password check runs on libuv's threads, so real time must pass; vi.waitFor moves the
  // fake clock by its interval on each check, which is why the delay is measured from the log.
  await vi.waitFor(() => expect(events('auth.fail').length).toBeGreaterThanOrEqual(count), { interval: 5, timeout: 5_000 });
  return events('auth.fail')[count - 1]!.time as number;
}

describe('login: wrong passwords', () => {
  it('are denied after clients.failedLoginDelayMs, doubling with the failures on the connection', async () => {
    const s = setup({ failedLoginDelayMs: 1000 });
    const cases = [[0, 1000], [1, 2000], [3, 8000]] as const;
    for (const [index, [previousFailures, delay]] of cases.entries()) {
      let outcome: unknown;
      void start(s, 'wrong guess', { previousFailures }).then((o) => (outcome = o));
      const loggedAt = await failureLogged(index + 1);
      await vi.advanceTimersByTimeAsync(loggedAt + delay - 1 - Date.now());
      expect(outcome).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(outcome).toEqual({ ok: false, kind: 'denied' });
    }
    expect(events('auth.fail').map((e) => e.reason)).toEqual(['wrong-password', 'wrong-password', 'wrong-password']);
    expect(s.opened).toEqual([]);
  });

  it('lock out the username from that address after clients.maxFailedLogins, until the window ends', async () => {
    const s = setup({ maxFailedLogins: 3, failedLoginWindowMs: 3000 });
    for (let i = 0; i < 3; i++) expect(await attempt(s, 'wrong guess')).toEqual({ ok: false, kind: 'denied' });
    // Now even the right password gets the same answer, without a password check or a token.
    expect(await attempt(s)).toEqual({ ok: false, kind: 'denied' });
    const lockout = events('auth.fail').at(-1)!;
    expect(lockout).toMatchObject({ reason: 'too-many-failures', user: USER, lockedUntil: expect.any(String) });
    expect(lockout.hint).toMatch(/^3 failed logins from 127\.0\.0\.1/);
    expect(s.tokens.requests).toBe(0);
    // Another machine is not locked out.
    expect(await attempt(s, PASSWORD, { clientAddress: '127.0.0.2' })).toMatchObject({ ok: true });
    // Still locked just before the window ends, free after.
    const until = Date.parse(lockout.lockedUntil);
    vi.setSystemTime(until - 100);
    expect(await attempt(s)).toEqual({ ok: false, kind: 'denied' });
    expect(events('auth.fail').at(-1)!.reason).toBe('too-many-failures');
    vi.setSystemTime(until);
    expect(await attempt(s)).toMatchObject({ ok: true });
  });

  it('a locked-out pair still waits for the failure delay, so timing does not tell', async () => {
    const s = setup({ maxFailedLogins: 1, failedLoginDelayMs: 500 });
    const first = start(s, 'wrong guess');
    await vi.advanceTimersByTimeAsync((await failureLogged(1)) + 500 - Date.now());
    expect(await first).toEqual({ ok: false, kind: 'denied' });
    let outcome: unknown;
    void start(s).then((o) => (outcome = o));
    const loggedAt = await failureLogged(2);
    expect(events('auth.fail')[1]!.reason).toBe('too-many-failures');
    await vi.advanceTimersByTimeAsync(loggedAt + 499 - Date.now());
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toEqual({ ok: false, kind: 'denied' });
  });
});
