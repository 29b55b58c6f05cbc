import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../../src/config/password-hash.js';
import { Secret } from '../../src/config/secret.js';
import { FAST_HASH_PARAMS } from '../helpers/config.js';
import { PASSWORD, startStack, USER, type Stack } from '../helpers/stack.js';
import { WireClient } from '../helpers/wire.js';

// IMAP, POP3 and SMTP sessions are kept by one registry: counted, logged with the same
// fields, given the context of the moment they open, and stopped with one grace.

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const plain = (password: string) => Buffer.from(`\0${USER}\0${password}`).toString('base64');

async function greeted(stack: Stack, protocol: 'imap' | 'pop3' | 'smtp'): Promise<WireClient> {
  const client = await WireClient.open(stack.port(protocol));
  await client.line();
  return client;
}

/** Logs in over each protocol with `password`; returns the answers. */
async function logIn(clients: { imap: WireClient; pop3: WireClient; smtp: WireClient }, password: string): Promise<string[]> {
  clients.imap.send(`a AUTHENTICATE PLAIN ${plain(password)}\r\n`);
  clients.pop3.send(`AUTH PLAIN ${plain(password)}\r\n`);
  clients.smtp.send('EHLO test\r\n');
  await clients.smtp.until(/^250 /);
  clients.smtp.send(`AUTH PLAIN ${plain(password)}\r\n`);
  return [(await clients.imap.until(/^a /)).at(-1)!, await clients.pop3.line(), await clients.smtp.line()];
}

const logEntries = () => stack!.logs.map((line) => JSON.parse(line) as { event?: string; sid?: string; proto?: string; client?: string });

describe('the session registry', () => {
  it('counts the sessions of every protocol and logs each with its own sid, proto and client, from connect to close', async () => {
    stack = await startStack();
    const clients = [await greeted(stack, 'imap'), await greeted(stack, 'pop3'), await greeted(stack, 'smtp')];
    expect(stack.proxy.activeSessions()).toBe(3);

    const connects = logEntries().filter((e) => e.event === 'connect');
    expect(connects.map((e) => e.proto).sort()).toEqual(['imap', 'pop3', 'smtp']);
    for (const entry of connects) expect(entry.client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(new Set(connects.map((e) => e.sid)).size).toBe(3);

    clients[0]!.send('a LOGOUT\r\n');
    clients[1]!.send('QUIT\r\n');
    clients[2]!.send('QUIT\r\n');
    await Promise.all(clients.map((c) => c.ended()));
    await vi.waitFor(() => expect(stack!.proxy.activeSessions()).toBe(0));
    const closes = logEntries().filter((e) => e.event === 'close');
    expect(closes.map((e) => e.sid).sort()).toEqual(connects.map((e) => e.sid).sort());
  });

  it('gives a reload to new sessions of every protocol, while sessions already open keep the config they started with', async () => {
    stack = await startStack({ config: { clients: { failedLoginDelayMs: 0 } } });
    const before = { imap: await greeted(stack, 'imap'), pop3: await greeted(stack, 'pop3'), smtp: await greeted(stack, 'smtp') };

    const config = stack.proxy.context().config;
    const account = { ...config.accounts.get(USER)!, passwordHash: await hashPassword(new Secret('new password'), FAST_HASH_PARAMS) };
    stack.proxy.reload({ ...config, accounts: new Map([[USER, account]]) });

    expect(await logIn(before, PASSWORD)).toEqual([expect.stringMatching(/^a OK /), '+OK Logged in.', expect.stringMatching(/^235 /)]);
    const after = { imap: await greeted(stack, 'imap'), pop3: await greeted(stack, 'pop3'), smtp: await greeted(stack, 'smtp') };
    expect(await logIn(after, PASSWORD)).toEqual(['a NO [AUTHENTICATIONFAILED] Authentication failed.', '-ERR [AUTH] Authentication failed.', '535 5.7.8 Authentication credentials invalid']);
    expect(await logIn(after, 'new password')).toEqual([expect.stringMatching(/^a OK /), '+OK Logged in.', expect.stringMatching(/^235 /)]);
    for (const client of [...Object.values(before), ...Object.values(after)]) client.close();
  });

  it('stops the sessions of every protocol together: each hears its goodbye at once (POP3 has none) and is closed by the proxy', async () => {
    stack = await startStack();
    const imap = await greeted(stack, 'imap');
    const pop3 = await greeted(stack, 'pop3');
    const smtp = await greeted(stack, 'smtp');

    const started = Date.now();
    const closing = stack.proxy.close(300);
    expect(await imap.line()).toBe('* BYE o365-mail-proxy is shutting down.');
    expect(await smtp.line()).toBe('421 4.3.2 o365-mail-proxy is shutting down, try again later');
    // None of them closes its side: the proxy does.
    await Promise.all([imap.ended(), pop3.ended(), smtp.ended()]);
    await closing;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(stack.proxy.activeSessions()).toBe(0);
  });
});
