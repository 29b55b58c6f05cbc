import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { tenantWithMailbox, xoauth2 } from './helpers.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';

const MAILBOX = 'invoices@contoso.test';
let sandbox: Sandbox;
let token: string;
const open: WireClient[] = [];

beforeAll(async () => {
  ({ sandbox, token } = await tenantWithMailbox(MAILBOX));
});
afterEach(async () => {
  for (const wire of open.splice(0)) wire.close();
  sandbox.controls.sessionLimitPerMailbox = 0;
  sandbox.throttle(MAILBOX, 0);
  // The sandbox counts a session out when its connection is gone.
  await vi.waitFor(() => expect(sandbox.openConnections()).toBe(0), PATIENCE);
});
afterAll(() => sandbox?.close());

async function imap(): Promise<WireClient> {
  const wire = await WireClient.open(sandbox.imap.port, { tls: true, ca: sandbox.caPem });
  open.push(wire);
  await wire.line();
  wire.send(`a1 AUTHENTICATE XOAUTH2 ${xoauth2(MAILBOX, token)}\r\n`);
  return wire;
}

async function pop3(): Promise<WireClient> {
  const wire = await WireClient.open(sandbox.pop3.port, { tls: true, ca: sandbox.caPem });
  open.push(wire);
  await wire.line();
  wire.send(`AUTH XOAUTH2 ${xoauth2(MAILBOX, token)}\r\n`);
  return wire;
}

async function smtp(): Promise<WireClient> {
  const wire = await WireClient.open(sandbox.smtp.port);
  open.push(wire);
  await wire.line();
  wire.send('EHLO client.example\r\n');
  await wire.until(/^250 /);
  wire.send('STARTTLS\r\n');
  await wire.line();
  await wire.startTls(sandbox.caPem);
  wire.send('EHLO client.example\r\n');
  await wire.until(/^250 /);
  wire.send(`AUTH XOAUTH2 ${xoauth2(MAILBOX, token)}\r\n`);
  return wire;
}

describe('the sandbox\'s per-mailbox session limit', () => {
  it('IMAP: past it, the login is accepted but the session is "not connected", until one ends', async () => {
    sandbox.controls.sessionLimitPerMailbox = 2;
    const [first, second, third] = [await imap(), await imap(), await imap()];
    for (const wire of [first, second, third]) expect(await wire.line()).toBe('a1 OK AUTHENTICATE completed.');
    third.send('a2 SELECT INBOX\r\n');
    expect(await third.line()).toBe('a2 BAD User is authenticated but not connected.');
    second.send('a2 LOGOUT\r\n');
    await second.ended();
    const fourth = await imap();
    expect(await fourth.line()).toBe('a1 OK AUTHENTICATE completed.');
    fourth.send('a2 SELECT INBOX\r\n');
    expect((await fourth.until(/^a2 /)).at(-1)).toBe('a2 OK [READ-WRITE] SELECT completed.');
  });

  it('POP3: past it, the connection is closed without an answer', async () => {
    sandbox.controls.sessionLimitPerMailbox = 1;
    const first = await pop3();
    expect(await first.line()).toBe('+OK User successfully authenticated.');
    const second = await pop3();
    await second.ended();
    await expect(second.line()).rejects.toThrow(/connection closed; unread: ""/);
  });

  it('SMTP: past it, AUTH gets 432 4.3.2 Concurrent connections limit exceeded', async () => {
    sandbox.controls.sessionLimitPerMailbox = 1;
    expect(await (await smtp()).line()).toBe('235 2.7.0 Authentication successful');
    expect(await (await smtp()).line()).toMatch(/^432 4\.3\.2 Concurrent connections limit exceeded\. Visit https:\/\/aka\.ms\/concurrent_sending /);
  });

  it('counts the connections it accepted, per protocol', async () => {
    const before = { ...sandbox.stats };
    await imap();
    await pop3();
    expect(sandbox.stats.imapConnections - before.imapConnections).toBe(1);
    expect(sandbox.stats.pop3Connections - before.pop3Connections).toBe(1);
    expect(sandbox.stats.smtpConnections).toBe(before.smtpConnections);
  });
});

describe('the sandbox\'s throttle switch', () => {
  it('IMAP: BAD Request is throttled with the time left, then BYE and the close', async () => {
    sandbox.throttle(MAILBOX, 60_000);
    const wire = await imap();
    expect(await wire.line()).toMatch(/^a1 BAD Request is throttled\. Suggested Backoff Time: (59\d{3}|60000) milliseconds$/);
    expect(await wire.line()).toBe('* BYE Connection closed. 14');
    await wire.ended();
  });

  it('POP3: -ERR with the same words, then the close', async () => {
    sandbox.throttle(MAILBOX, 5000);
    const wire = await pop3();
    expect(await wire.line()).toMatch(/^-ERR Request is throttled\. Suggested Backoff Time: \d{4} milliseconds$/);
    await wire.ended();
  });

  it('SMTP: 451 4.7.500 Server busy to AUTH, and to MAIL in a session logged in before', async () => {
    sandbox.throttle(MAILBOX, 300);
    const wire = await smtp();
    const busy = /^451 4\.7\.500 Server busy\. Please try again later from \[127\.0\.0\.1\]\. \(S77719\)$/;
    expect(await wire.line()).toMatch(busy);
    await new Promise((resolve) => setTimeout(resolve, 350));
    wire.send(`AUTH XOAUTH2 ${xoauth2(MAILBOX, token)}\r\n`);
    expect(await wire.line()).toBe('235 2.7.0 Authentication successful');
    sandbox.throttle(MAILBOX, 60_000);
    wire.send(`MAIL FROM:<${MAILBOX}>\r\n`);
    expect(await wire.line()).toMatch(busy);
  });
});
