import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Protocol } from '../../src/config/types.js';
import { leftovers, MAILBOX, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';

// Exchange's per-mailbox limits, kept by the proxy before Exchange enforces them: small caps
// and a one-second wait, so that waiting and refusing take little time.
const LIMITS = { maxSessionsPerMailbox: { imap: 2, pop3: 1, smtp: 1 }, sessionWaitMs: 1000, maxWaitingPerMailbox: 2, throttleBackoffMs: 1500 };
const BUSY = `too many sessions open for ${MAILBOX}, try again later`;
const THROTTLED = `Exchange Online is throttling ${MAILBOX}, try again later`;

let stack: Stack;
const clients: WireClient[] = [];
beforeAll(async () => {
  stack = await startStack({ config: { upstream: LIMITS } });
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  stack.sandbox.throttle(MAILBOX, 0);
  await vi.waitFor(() => expect(inUse('imap') + inUse('pop3') + inUse('smtp')).toBe(0), PATIENCE);
});
afterAll(() => stack?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Upstream sessions holding a place now (o365p_upstream_sessions shows the same count: test/unit/mailbox-gate.test.ts). */
function inUse(protocol: Protocol, s = stack): number {
  return s.proxy.context().mailboxGate.inUse(protocol);
}

function logEvents(event: string): Record<string, any>[] {
  return stack.logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === event);
}

async function connect(protocol: Protocol, s = stack): Promise<WireClient> {
  const client = await WireClient.open(s.port(protocol));
  clients.push(client);
  if (protocol === 'smtp') {
    await client.line();
    client.send('EHLO client.example\r\n');
    await client.until(/^250 /);
  } else {
    await client.line();
  }
  return client;
}

/** Sends the credentials; the answer is the caller's to read. */
function sendLogin(client: WireClient, protocol: Protocol): void {
  if (protocol === 'imap') client.send(`a LOGIN ${USER} {${Buffer.byteLength(PASSWORD)}+}\r\n${PASSWORD}\r\n`);
  else if (protocol === 'pop3') client.send(`USER ${USER}\r\nPASS ${PASSWORD}\r\n`);
  else client.send(`AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
}

/** The login's answer line (POP3: after "+OK Send the password."). */
async function answer(client: WireClient, protocol: Protocol, timeoutMs = 10_000): Promise<string> {
  if (protocol === 'pop3' && (await client.line(timeoutMs)) !== '+OK Send the password.') throw new Error('USER refused');
  return client.line(timeoutMs);
}

async function login(protocol: Protocol, s = stack): Promise<{ client: WireClient; reply: string }> {
  const client = await connect(protocol, s);
  sendLogin(client, protocol);
  return { client, reply: await answer(client, protocol) };
}

describe('sessions per mailbox', () => {
  it('IMAP: the login past the cap waits, and gets in when a session ends', async () => {
    const logins = stack.sandbox.stats.imapLogins;
    const first = await login('imap');
    const second = await login('imap');
    expect([first.reply, second.reply]).toEqual([expect.stringMatching(/^a OK /), expect.stringMatching(/^a OK /)]);
    const third = await connect('imap');
    sendLogin(third, 'imap');
    await expect(third.line(400)).rejects.toThrow(/timed out/);
    expect(inUse('imap')).toBe(2);
    expect(stack.sandbox.stats.imapLogins).toBe(logins + 2);

    first.client.send('b LOGOUT\r\n');
    expect(await third.line()).toMatch(/^a OK \[CAPABILITY /);
    third.send('c SELECT INBOX\r\n');
    expect((await third.until(/^c /)).at(-1)).toBe('c OK [READ-WRITE] SELECT completed.');
    expect(inUse('imap')).toBe(2);
    expect(stack.sandbox.stats.imapLogins).toBe(logins + 3);
  });

  it('answers the protocol\'s "try later" when the wait is over, and at once when the queue is full', async () => {
    await login('imap');
    await login('imap');
    const waiting = [await connect('imap'), await connect('imap')];
    for (const client of waiting) sendLogin(client, 'imap');
    await sleep(100);
    const started = Date.now();
    const late = await login('imap');
    expect(late.reply).toBe(`a NO [UNAVAILABLE] ${BUSY}`);
    expect(Date.now() - started).toBeLessThan(500);
    for (const client of waiting) expect(await client.line()).toBe(`a NO [UNAVAILABLE] ${BUSY}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    // The session goes on: the client may try again or leave.
    late.client.send('b LOGOUT\r\n');
    expect(await late.client.until(/^b /)).toEqual(['* BYE o365-mail-proxy logging out.', 'b OK LOGOUT completed.']);

    expect((await login('pop3')).reply).toBe('+OK Logged in.');
    expect((await login('pop3')).reply).toBe(`-ERR [SYS/TEMP] ${BUSY}`);
    expect((await login('smtp')).reply).toMatch(/^235 /);
    expect((await login('smtp')).reply).toBe(`454 4.7.0 ${BUSY}`);
    const busy = (protocol: Protocol) => stack.proxy.metrics.upstreamRefusals.value({ protocol, reason: 'busy' });
    expect([await busy('imap'), await busy('pop3'), await busy('smtp')]).toEqual([3, 1, 1]);
  });

  it('gives the place back when the upstream login fails', async () => {
    stack.app.servicePrincipalRegistered = false;
    try {
      expect((await login('imap')).reply).toMatch(/^a NO \[AUTHENTICATIONFAILED\] Exchange Online refused the token/);
      expect((await login('smtp')).reply).toMatch(/^535 5\.7\.8 Exchange Online refused the token/);
    } finally {
      stack.app.servicePrincipalRegistered = true;
    }
    expect(inUse('imap') + inUse('smtp')).toBe(0);
    expect((await login('smtp')).reply).toMatch(/^235 /);
  });

  it('forgets a waiting login whose client left, and frees the places of clients that vanished', async () => {
    const connections = stack.sandbox.stats.imapConnections;
    const first = await login('imap');
    await login('imap');
    const gone = await connect('imap');
    sendLogin(gone, 'imap');
    await sleep(100);
    gone.close();
    await vi.waitFor(() => expect(logEvents('auth.fail').map((e) => e.reason)).toContain('upstream-cancelled'), PATIENCE);
    first.client.close();
    await vi.waitFor(() => expect(inUse('imap')).toBe(1), PATIENCE);
    // The one that left never reached Exchange, not even once its place came free.
    await sleep(200);
    expect(stack.sandbox.stats.imapConnections).toBe(connections + 2);
    expect(inUse('imap')).toBe(1);
  });

  it('SMTP: holds one place across the proxy\'s reconnects upstream, until the client quits', async () => {
    const { client } = await login('smtp');
    expect(inUse('smtp')).toBe(1);
    stack.sandbox.dropConnections();
    await vi.waitFor(() => expect(inUse('smtp')).toBe(0), PATIENCE);
    client.send(`MAIL FROM:<${MAILBOX}>\r\n`);
    expect(await client.line()).toMatch(/^250 /);
    expect(inUse('smtp')).toBe(1);
    client.send('QUIT\r\n');
    await client.ended();
    await vi.waitFor(() => expect(inUse('smtp')).toBe(0), PATIENCE);
  });

  it('keeps counting the open sessions across a reload, and a higher cap lets a waiting login in', async () => {
    await login('imap');
    await login('imap');
    const config = stack.proxy.context().config;
    stack.proxy.reload(config);
    const waiting = await connect('imap');
    sendLogin(waiting, 'imap');
    await expect(waiting.line(300)).rejects.toThrow(/timed out/);
    stack.proxy.reload({ ...config, upstream: { ...config.upstream, maxSessionsPerMailbox: { ...config.upstream.maxSessionsPerMailbox, imap: 3 } } });
    expect(await waiting.line()).toMatch(/^a OK /);
    expect(inUse('imap')).toBe(3);
    stack.proxy.reload(config);
  });

  it('SMTP: a client that leaves in the middle of its login leaves no upstream session behind', async () => {
    const other = await startStack({ config: { upstream: LIMITS } });
    try {
      // The first token request takes a while: the client is gone before the upstream login starts.
      other.sandbox.controls.entraDelayMs = 400;
      const leaving = await connect('smtp', other);
      sendLogin(leaving, 'smtp');
      await sleep(100);
      leaving.close();
      await vi.waitFor(() => expect(other.sandbox.stats.smtpLogins).toBe(1), PATIENCE);
      await vi.waitFor(() => expect([inUse('smtp', other), other.sandbox.openConnections()]).toEqual([0, 0]), PATIENCE);
      const { client, reply } = await login('smtp', other);
      expect(reply).toMatch(/^235 /);
      client.send('QUIT\r\n');
      await client.ended();
    } finally {
      await other.close();
    }
  });

  it('gives every place back on shutdown', async () => {
    const other = await startStack({ config: { upstream: LIMITS } });
    try {
      for (const protocol of ['imap', 'pop3', 'smtp'] as const) expect((await login(protocol, other)).reply).toMatch(/^(a OK|\+OK|235)/);
      const waiting = await connect('imap', other);
      await login('imap', other);
      sendLogin(waiting, 'imap');
      await sleep(100);
      expect([inUse('imap', other), inUse('pop3', other), inUse('smtp', other)]).toEqual([2, 1, 1]);
    } finally {
      await other.close();
    }
    // The SMTP session's upstream is told QUIT as its client is cut, and closes a moment later.
    await vi.waitFor(() => expect(inUse('imap', other) + inUse('pop3', other) + inUse('smtp', other)).toBe(0), { ...PATIENCE, timeout: 3000 });
  });
});

describe('when Exchange throttles', () => {
  it('IMAP: new logins get "try later" without reaching Exchange until the backoff is over', async () => {
    stack.sandbox.throttle(MAILBOX, 3000);
    const before = stack.sandbox.stats.imapConnections;
    expect((await login('imap')).reply).toBe(`a NO [UNAVAILABLE] ${THROTTLED}`);
    // Asked once, not retried with a fresh token.
    expect(stack.sandbox.stats.imapConnections).toBe(before + 1);
    const [event, ...more] = logEvents('upstream.throttled');
    expect(more).toEqual([]);
    expect(event).toMatchObject({ level: 40, protocol: 'imap', mailbox: MAILBOX, backoffMs: expect.any(Number) });
    expect(event!.backoffMs).toBeGreaterThan(2500);
    expect(await stack.proxy.metrics.upstreamThrottled.value({ protocol: 'imap' })).toBe(1);

    const started = Date.now();
    expect((await login('imap')).reply).toBe(`a NO [UNAVAILABLE] ${THROTTLED}`);
    expect(Date.now() - started).toBeLessThan(500);
    expect(stack.sandbox.stats.imapConnections).toBe(before + 1);
    // POP3 is not held back by an IMAP backoff (Exchange budgets each protocol on its own): it
    // asks Exchange, which here throttles the whole mailbox, and that is a second event.
    const pop3Connections = stack.sandbox.stats.pop3Connections;
    expect((await login('pop3')).reply).toBe('-ERR [SYS/TEMP] ' + THROTTLED);
    expect(stack.sandbox.stats.pop3Connections).toBe(pop3Connections + 1);

    // The last second of the backoff fits in the wait: this login waits it out and gets in.
    await sleep(Math.max(0, event!.backoffMs - 700 - (Date.now() - started)));
    expect((await login('imap')).reply).toMatch(/^a OK /);
    expect(stack.sandbox.stats.imapConnections).toBe(before + 2);
    expect(logEvents('upstream.throttled')).toHaveLength(2);
  });

  it('SMTP: a throttling reply to AUTH or to a relayed MAIL holds new logins for upstream.throttleBackoffMs', async () => {
    stack.sandbox.throttle(MAILBOX, 60_000);
    const { client, reply } = await login('smtp');
    expect(reply).toBe(`454 4.7.0 ${THROTTLED}`);
    stack.sandbox.throttle(MAILBOX, 0);
    const connections = stack.sandbox.stats.smtpConnections;
    sendLogin(client, 'smtp');
    expect(await client.line()).toBe(`454 4.7.0 ${THROTTLED}`);
    expect(stack.sandbox.stats.smtpConnections).toBe(connections);
    await sleep(1600);
    sendLogin(client, 'smtp');
    expect(await client.line()).toMatch(/^235 /);

    // Throttled in the middle of a session: the client hears Exchange, the next login waits.
    stack.sandbox.throttle(MAILBOX, 60_000);
    client.send(`MAIL FROM:<${MAILBOX}>\r\n`);
    expect(await client.line()).toMatch(/^451 4\.7\.500 Server busy\. Please try again later/);
    client.send('QUIT\r\n');
    await client.ended();
    expect((await login('smtp')).reply).toBe(`454 4.7.0 ${THROTTLED}`);
    expect(stack.sandbox.stats.smtpConnections).toBe(connections + 1);
    const events = logEvents('upstream.throttled').filter((e) => e.protocol === 'smtp');
    expect(events.map((e) => e.backoffMs)).toEqual([1500, 1500]);
  });
});

// Runs last in this file: whatever the tests above did, nothing may be left behind.
it('leaves no session open and logs nothing at error level', async () => {
  for (const client of clients.splice(0)) client.close();
  expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
  expect([inUse('imap'), inUse('pop3'), inUse('smtp')]).toEqual([0, 0, 0]);
});
