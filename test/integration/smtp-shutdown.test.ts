import { afterEach, describe, expect, it, vi } from 'vitest';
import { leftovers, MAILBOX, PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { PATIENCE } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire.js';

// Shutdown never makes a client send a message twice: "421" only while nothing can have been
// delivered; once the final dot went to Exchange, the client hears Exchange's verdict.

const OTHER = 'ap@contoso.test';
const GOODBYE = '421 4.3.2 o365-mail-proxy is shutting down, try again later';
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.sandbox.close();
  stack = undefined;
});

async function started(): Promise<Stack> {
  stack = await startStack();
  stack.sandbox.addMailbox(OTHER);
  return stack;
}

async function loggedIn(stack: Stack): Promise<WireClient> {
  const client = await WireClient.open(stack.port('smtp'));
  await client.line();
  client.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
  await client.until(/^235 /);
  return client;
}

async function inData(stack: Stack): Promise<WireClient> {
  const client = await loggedIn(stack);
  client.send(`MAIL FROM:<${MAILBOX}>\r\nRCPT TO:<${OTHER}>\r\nDATA\r\n`);
  await client.until(/^354 /);
  return client;
}

const delivered = () => stack!.sandbox.messages(OTHER).map((m) => m.toString());

describe('SMTP on shutdown', () => {
  it('gives Exchange\'s verdict, not 421, for a message whose final dot went upstream, however short the grace', async () => {
    const stack = await started();
    // Longer than any grace the proxy ever had (5 s): the verdict comes after the grace ended.
    stack.sandbox.controls.smtpDataReplyDelayMs = 5500;
    const client = await inData(stack);
    client.send('Subject: in flight\r\n\r\nanswered late\r\n.\r\n');
    // The sandbox stores first and answers late, as a slow Exchange does.
    await vi.waitFor(() => expect(delivered(), 'the message reaches the sandbox').toHaveLength(1), PATIENCE);

    const closing = stack.proxy.close(200);
    expect(await client.line(8000)).toMatch(/^250 2\.6\.0 /);
    expect(await client.line()).toBe(GOODBYE);
    await client.ended();
    await closing;
    expect(delivered()).toEqual(['Subject: in flight\r\n\r\nanswered late\r\n']);
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
  }, 20_000);

  it('cuts a message still coming from the client with 421 when the grace ends, and Exchange gets none of it', async () => {
    const stack = await started();
    const client = await inData(stack);
    client.send(`Subject: cut short\r\n\r\n${'first half\r\n'.repeat(10_000)}`);
    const started_ = Date.now();
    const closing = stack.proxy.close(400);
    // Still sending during the grace.
    const sending = setInterval(() => client.send('more of the message\r\n'), 20);
    try {
      expect(await client.line(3000)).toBe(GOODBYE);
    } finally {
      clearInterval(sending);
    }
    expect(Date.now() - started_).toBeGreaterThanOrEqual(390);
    // A client that did not listen and ends its message anyway delivers nothing.
    client.send('last line\r\n.\r\n');
    await client.ended();
    await closing;
    // Once Exchange's side has seen every connection end, it has taken whatever it was sent.
    await vi.waitFor(() => expect(stack.sandbox.openConnections()).toBe(0), PATIENCE);
    expect(delivered()).toEqual([]);
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
  });

  it('says 421 at once to a session with nothing in progress, and lets an open transaction finish within the grace', async () => {
    const stack = await started();
    const idle = await loggedIn(stack);
    const greeted = await WireClient.open(stack.port('smtp'));
    await greeted.line();
    const sending = await loggedIn(stack);
    sending.send(`MAIL FROM:<${MAILBOX}>\r\nRCPT TO:<${OTHER}>\r\n`);
    expect([await sending.line(), await sending.line()]).toEqual(['250 Accepted', '250 Accepted']);

    const closing = stack.proxy.close(5000);
    expect(await idle.line(1000)).toBe(GOODBYE);
    expect(await greeted.line(1000)).toBe(GOODBYE);
    await Promise.all([idle.ended(), greeted.ended()]);

    sending.send('DATA\r\n');
    expect(await sending.line()).toMatch(/^354 /);
    sending.send('Subject: finished during shutdown\r\n\r\nx\r\n.\r\n');
    expect(await sending.line()).toMatch(/^250 2\.6\.0 /);
    expect(await sending.line()).toBe(GOODBYE);
    await sending.ended();
    const stoppedAt = Date.now();
    await closing;
    expect(Date.now() - stoppedAt).toBeLessThan(2000);
    expect(delivered()).toEqual(['Subject: finished during shutdown\r\n\r\nx\r\n']);
    expect(await leftovers(stack)).toEqual({ openSessions: [], active: 0, errors: [] });
  });

  it('closes the upstream session of a login that ends after its client was cut', async () => {
    const stack = await started();
    stack.sandbox.controls.entraDelayMs = 1000;
    const client = await WireClient.open(stack.port('smtp'));
    await client.line();
    client.send(`EHLO test\r\nAUTH PLAIN ${Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')}\r\n`);
    await client.until(/^250 /);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = stack.proxy.close(200);
    expect(await client.line()).toBe(GOODBYE);
    await client.ended();
    await closing;
    await vi.waitFor(() => expect(stack.sandbox.stats.smtpLogins, 'the late upstream login').toBe(1), PATIENCE);
    await vi.waitFor(() => expect(stack.sandbox.openConnections(), 'the upstream session closes').toBe(0), PATIENCE);
  });

  it('refuses a new transaction during the grace', async () => {
    const stack = await started();
    const client = await loggedIn(stack);
    client.send(`MAIL FROM:<${MAILBOX}>\r\nRCPT TO:<${OTHER}>\r\nDATA\r\n`);
    await client.until(/^354 /);
    const closing = stack.proxy.close(5000);
    client.send(`Subject: one\r\n\r\nx\r\n.\r\nMAIL FROM:<${MAILBOX}>\r\n`);
    expect(await client.line()).toMatch(/^250 2\.6\.0 /);
    expect(await client.line()).toBe(GOODBYE);
    await client.ended();
    await closing;
    expect(delivered()).toHaveLength(1);
  });
});
