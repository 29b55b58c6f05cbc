import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Metrics } from '../../src/ops/metrics.js';
import { GateRefusal, MailboxGate, type GateLimits, type Slot } from '../../src/upstream/mailbox-gate.js';

const LIMITS: GateLimits = { maxSessions: { imap: 2, pop3: 2, smtp: 1 }, waitMs: 5000, maxWaiting: 2 };
const BOX = 'invoices@contoso.test';

/** How a pending acquire ended so far: still waiting, admitted, or refused with a reason. */
function track(promise: Promise<Slot>): { state: () => string; slot: () => Slot } {
  let state = 'waiting';
  let slot: Slot | undefined;
  promise.then((s) => { state = 'admitted'; slot = s; }, (error: GateRefusal) => { state = `refused:${error.reason}`; });
  return { state: () => state, slot: () => slot! };
}

/** Lets settled promises run their callbacks. */
const settle = () => vi.advanceTimersByTimeAsync(0);

let metrics: Metrics;
let gate: MailboxGate;
beforeEach(() => {
  vi.useFakeTimers();
  metrics = new Metrics();
  gate = new MailboxGate(LIMITS, metrics);
});
afterEach(() => vi.useRealTimers());

const inUseMetric = (protocol: string) => metrics.upstreamSessions.value({ protocol });

describe('the per-mailbox gate', () => {
  it('lets in up to the cap at once, per mailbox and protocol, mailbox names in any case', async () => {
    await gate.acquire(BOX, 'imap');
    await gate.acquire(BOX.toUpperCase(), 'imap');
    await gate.acquire(BOX, 'pop3');
    await gate.acquire('other@contoso.test', 'imap');
    const third = track(gate.acquire(BOX, 'imap'));
    await settle();
    expect(third.state()).toBe('waiting');
    expect(gate.inUse('imap')).toBe(3);
    expect(await inUseMetric('imap')).toBe(3);
  });

  it('lets the next waiting login in when a session ends, first come first served', async () => {
    const first = await gate.acquire(BOX, 'smtp');
    const a = track(gate.acquire(BOX, 'smtp'));
    const b = track(gate.acquire(BOX, 'smtp'));
    await settle();
    first.release();
    await settle();
    expect([a.state(), b.state()]).toEqual(['admitted', 'waiting']);
    a.slot().release();
    await settle();
    expect(b.state()).toBe('admitted');
    expect(await metrics.upstreamWaits.value({ protocol: 'smtp' })).toBe(2);
  });

  it('refuses a waiting login as busy when no session ends within the wait', async () => {
    await gate.acquire(BOX, 'smtp');
    const waiting = track(gate.acquire(BOX, 'smtp'));
    await vi.advanceTimersByTimeAsync(4999);
    expect(waiting.state()).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1);
    expect(waiting.state()).toBe('refused:busy');
    expect(await metrics.upstreamRefusals.value({ protocol: 'smtp', reason: 'busy' })).toBe(1);
  });

  it('refuses at once when the queue is full, and names the settings', async () => {
    await gate.acquire(BOX, 'smtp');
    track(gate.acquire(BOX, 'smtp'));
    track(gate.acquire(BOX, 'smtp'));
    const refusal = await gate.acquire(BOX, 'smtp').catch((error: GateRefusal) => error);
    expect(refusal).toBeInstanceOf(GateRefusal);
    expect((refusal as GateRefusal).reason).toBe('busy');
    expect((refusal as GateRefusal).message).toMatch(/upstream\.maxWaitingPerMailbox: 2/);
  });

  it('forgets a login whose client left while it waited, and its place in the queue', async () => {
    const held = await gate.acquire(BOX, 'smtp');
    const left = new AbortController();
    const gone = track(gate.acquire(BOX, 'smtp', left.signal));
    const next = track(gate.acquire(BOX, 'smtp'));
    left.abort();
    await settle();
    expect(gone.state()).toBe('refused:cancelled');
    // The queue has room again, and the session that ends goes to the one still waiting.
    const another = track(gate.acquire(BOX, 'smtp'));
    held.release();
    await settle();
    expect([next.state(), another.state()]).toEqual(['admitted', 'waiting']);
    expect(gate.inUse('smtp')).toBe(1);
  });

  it('refuses a login whose client already left, without taking a place', async () => {
    const left = new AbortController();
    left.abort();
    await expect(gate.acquire(BOX, 'imap', left.signal)).rejects.toMatchObject({ reason: 'cancelled' });
    expect(gate.inUse('imap')).toBe(0);
  });

  it('counts a release once, however often it is called', async () => {
    const slot = await gate.acquire(BOX, 'imap');
    await gate.acquire(BOX, 'imap');
    slot.release();
    slot.release();
    expect(gate.inUse('imap')).toBe(1);
    expect(await inUseMetric('imap')).toBe(1);
  });

  it('holds a place until the connection closes, or releases it at once when already closed', async () => {
    const connection = Object.assign(new EventEmitter(), { closed: false });
    (await gate.acquire(BOX, 'imap')).holdUntilClosed(connection);
    (await gate.acquire(BOX, 'imap')).holdUntilClosed({ closed: true, once: () => undefined });
    expect(gate.inUse('imap')).toBe(1);
    connection.emit('close');
    connection.emit('close');
    expect(gate.inUse('imap')).toBe(0);
    expect(await inUseMetric('imap')).toBe(0);
  });

  it('makes new logins wait out a backoff that fits in the wait, then lets them in', async () => {
    gate.throttle(BOX, 'imap', 3000);
    const waiting = track(gate.acquire(BOX, 'imap'));
    await vi.advanceTimersByTimeAsync(2999);
    expect(waiting.state()).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1);
    expect(waiting.state()).toBe('admitted');
  });

  it('lets waiting logins in when the backoff timer fires, even with the wall clock a millisecond behind', async () => {
    gate.throttle(BOX, 'imap', 3000);
    const waiting = track(gate.acquire(BOX, 'imap'));
    await vi.advanceTimersByTimeAsync(2999);
    vi.setSystemTime(Date.now() - 1);
    await vi.advanceTimersByTimeAsync(1);
    expect(waiting.state()).toBe('admitted');
  });

  it('says "throttled", not "busy", when the queue is full of logins waiting out a backoff', async () => {
    gate.throttle(BOX, 'imap', 3000);
    track(gate.acquire(BOX, 'imap'));
    track(gate.acquire(BOX, 'imap'));
    await expect(gate.acquire(BOX, 'imap')).rejects.toMatchObject({ reason: 'throttled' });
  });

  it('refuses at once while the backoff outlasts the wait, and lets logins in after it', async () => {
    gate.throttle(BOX, 'imap', 60_000);
    await expect(gate.acquire(BOX, 'imap')).rejects.toMatchObject({ reason: 'throttled' });
    await expect(gate.acquire(BOX, 'pop3')).resolves.toBeDefined();
    await vi.advanceTimersByTimeAsync(55_001);
    const waiting = track(gate.acquire(BOX, 'imap'));
    await vi.advanceTimersByTimeAsync(4999);
    expect(waiting.state()).toBe('admitted');
    expect(await metrics.upstreamRefusals.value({ protocol: 'imap', reason: 'throttled' })).toBe(1);
  });

  it('refuses the waiting logins a new backoff would outlast, and keeps the others', async () => {
    await gate.acquire(BOX, 'smtp');
    const early = track(gate.acquire(BOX, 'smtp'));
    await vi.advanceTimersByTimeAsync(3000);
    const late = track(gate.acquire(BOX, 'smtp'));
    gate.throttle(BOX, 'smtp', 4000);
    await settle();
    expect([early.state(), late.state()]).toEqual(['refused:throttled', 'waiting']);
  });

  it('never shortens a backoff', async () => {
    gate.throttle(BOX, 'imap', 60_000);
    gate.throttle(BOX, 'imap', 10);
    await vi.advanceTimersByTimeAsync(1000);
    await expect(gate.acquire(BOX, 'imap')).rejects.toMatchObject({ reason: 'throttled' });
  });

  it('takes new limits on reconfigure, letting waiting logins in when the cap grows', async () => {
    await gate.acquire(BOX, 'smtp');
    const waiting = track(gate.acquire(BOX, 'smtp'));
    gate.reconfigure({ ...LIMITS, maxSessions: { ...LIMITS.maxSessions, smtp: 2 } });
    await settle();
    expect(waiting.state()).toBe('admitted');
    gate.reconfigure({ ...LIMITS, maxSessions: { ...LIMITS.maxSessions, smtp: 0 } });
    await expect(gate.acquire(BOX, 'smtp')).resolves.toBeDefined();
    expect(gate.inUse('smtp')).toBe(3);
  });
});
