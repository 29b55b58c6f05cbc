import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { accessToken, tenantWithMailbox, xoauth2 } from './helpers.js';
import { WireClient } from '../helpers/wire.js';

const SENDER = 'invoices@contoso.test';
const RECIPIENT = 'ap@contoso.test';
let sandbox: Sandbox;
let token: string;

beforeAll(async () => {
  ({ sandbox, token } = await tenantWithMailbox(SENDER));
  sandbox.addMailbox(RECIPIENT);
});
afterAll(() => sandbox?.close());

async function ehlo(wire: WireClient): Promise<string[]> {
  wire.send('EHLO client.example\r\n');
  return wire.until(/^250 /);
}

async function secured(): Promise<WireClient> {
  const wire = await WireClient.open(sandbox.smtp.port);
  expect(await wire.line()).toMatch(/^220 \S+ Microsoft ESMTP MAIL Service ready at /);
  await ehlo(wire);
  wire.send('STARTTLS\r\n');
  expect(await wire.line()).toBe('220 2.0.0 SMTP server ready');
  await wire.startTls(sandbox.caPem);
  return wire;
}

describe('fake Exchange SMTP submission', () => {
  it('requires STARTTLS before AUTH, then delivers byte for byte after XOAUTH2', async () => {
    const wire = await WireClient.open(sandbox.smtp.port);
    await wire.line();
    const before = await ehlo(wire);
    expect(before.slice(1)).toEqual(['250-SIZE 157286400', '250-PIPELINING', '250-DSN', '250-ENHANCEDSTATUSCODES', '250-STARTTLS', '250-8BITMIME', '250-BINARYMIME', '250-CHUNKING', '250 SMTPUTF8']);
    wire.send(`AUTH XOAUTH2 ${xoauth2(SENDER, token)}\r\n`);
    expect(await wire.line()).toBe('504 5.7.4 Unrecognized authentication type');
    wire.send('STARTTLS\r\n');
    expect(await wire.line()).toBe('220 2.0.0 SMTP server ready');
    await wire.startTls(sandbox.caPem);
    const after = await ehlo(wire);
    expect(after).toContain('250-AUTH LOGIN XOAUTH2');
    expect(after).not.toContain('250-STARTTLS');
    wire.send('MAIL FROM:<invoices@contoso.test>\r\n');
    expect(await wire.line()).toMatch(/^530 5\.7\.57 /);
    wire.send('AUTH XOAUTH2\r\n');
    expect(await wire.line()).toBe('334 ');
    wire.send(`${xoauth2(SENDER, token)}\r\n`);
    expect(await wire.line()).toBe('235 2.7.0 Authentication successful');

    const message = 'From: invoices@contoso.test\r\nTo: ap@contoso.test\r\nSubject: hi\r\nMessage-ID: <m1@contoso.test>\r\n\r\n.starts with a dot\r\n\r\nlast line\r\n';
    wire.send('MAIL FROM:<invoices@contoso.test> SIZE=200\r\nRCPT TO:<ap@contoso.test>\r\nRCPT TO:<ghost@contoso.test>\r\nRCPT TO:<someone@example.org>\r\nDATA\r\n');
    expect(await wire.until(/^354 /)).toEqual([
      '250 2.1.0 Sender OK',
      '250 2.1.5 Recipient OK',
      '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
      '250 2.1.5 Recipient OK',
      '354 Start sending mail data.',
    ]);
    wire.send(`${message.replace(/^\./gm, '..')}.\r\n`);
    expect(await wire.line()).toMatch(/^250 2\.6\.0 <m1@contoso\.test> \[InternalId=\d+, Hostname=\S+\] Queued mail for delivery$/);
    expect(sandbox.messages(RECIPIENT).map(String)).toEqual([message]);

    // someone else's address as sender
    wire.send('MAIL FROM:<ceo@contoso.test>\r\nRCPT TO:<ap@contoso.test>\r\nDATA\r\n');
    await wire.until(/^354 /);
    wire.send('Subject: spoofed\r\n\r\nx\r\n.\r\n');
    expect(await wire.line()).toBe('550 5.7.60 SMTP; Client does not have permissions to send as this sender');
    expect(sandbox.messages(RECIPIENT)).toHaveLength(1);
    wire.send('QUIT\r\n');
    expect(await wire.line()).toBe('221 2.0.0 Service closing transmission channel');
    await wire.ended();
  });

  it('refuses a token without FullAccess (430 STOREDRV, as Exchange), and answers 5.7.139 when SMTP AUTH is disabled', async () => {
    const wire = await secured();
    await ehlo(wire);
    const stranger = sandbox.registerApp({});
    wire.send(`AUTH XOAUTH2 ${xoauth2(SENDER, await accessToken(sandbox, stranger))}\r\n`);
    expect(await wire.line()).toBe('430 4.2.0 STOREDRV; mailbox logon failure');
    sandbox.controls.smtpAuthDisabled = true;
    try {
      wire.send(`AUTH XOAUTH2 ${xoauth2(SENDER, token)}\r\n`);
      expect(await wire.line()).toMatch(/^535 5\.7\.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant\./);
    } finally {
      sandbox.controls.smtpAuthDisabled = false;
    }
    sandbox.controls.errorChallenge = true;
    try {
      wire.send(`AUTH XOAUTH2 ${xoauth2(SENDER, 'not-a-token')}\r\n`);
      expect(await wire.line()).toMatch(/^334 eyJ/);
      wire.send('\r\n');
      expect(await wire.line()).toMatch(/^535 5\.7\.3 /);
    } finally {
      sandbox.controls.errorChallenge = false;
    }
    wire.close();
  });

  it('answers the end of a message late when told to, with the message already delivered', async () => {
    const wire = await secured();
    await ehlo(wire);
    wire.send(`AUTH XOAUTH2 ${xoauth2(SENDER, token)}\r\n`);
    expect(await wire.line()).toBe('235 2.7.0 Authentication successful');
    const before = sandbox.messages(RECIPIENT).length;
    sandbox.controls.smtpDataReplyDelayMs = 300;
    try {
      wire.send(`MAIL FROM:<${SENDER}>\r\nRCPT TO:<${RECIPIENT}>\r\nDATA\r\n`);
      await wire.until(/^354 /);
      const sent = Date.now();
      wire.send('Subject: slow\r\n\r\nx\r\n.\r\n');
      const answer = wire.line();
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(sandbox.messages(RECIPIENT)).toHaveLength(before + 1);
      expect(await answer).toMatch(/^250 2\.6\.0 /);
      expect(Date.now() - sent).toBeGreaterThanOrEqual(290);
    } finally {
      sandbox.controls.smtpDataReplyDelayMs = 0;
    }
    wire.close();
  });

  it('drops every open connection on dropConnections()', async () => {
    const wire = await secured();
    const imap = await WireClient.open(sandbox.imap.port, { tls: true, ca: sandbox.caPem });
    await imap.line();
    sandbox.dropConnections();
    await wire.ended();
    await imap.ended();
  });
});
